"""What the use cases need from storage, as protocols the adapters (or test fakes) implement."""

from collections.abc import Collection, Sequence
from types import TracebackType
from typing import Protocol, Self

from pay.bank.domain.model import Account, AccountKey, StatementLine, Transfer, TransferOutcome


class AccountRepository(Protocol):
    async def add(self, account: Account) -> bool:
        """Store a new account; False (and nothing stored) if one with its key exists."""

    async def get(self, key: AccountKey) -> Account | None: ...

    async def lock(self, keys: Collection[AccountKey]) -> dict[AccountKey, Account]:
        """The existing accounts among `keys`, locked until the end of the unit of work.

        Locks are always taken in key order, so two transfers between the same accounts in
        opposite directions wait for each other instead of deadlocking.
        """

    async def update_balance(self, account: Account) -> None: ...


class TransferRepository(Protocol):
    async def claim(self, transfer: Transfer) -> bool:
        """Record that `transfer` is being executed; False if its id was already received.

        A claim made by a concurrent unit of work that has not finished yet makes this wait for it,
        so that a duplicate never executes alongside the original.
        """

    async def record(self, outcome: TransferOutcome) -> None:
        """Store the outcome of a transfer claimed in this unit of work."""

    async def outcome_of(self, transfer_id: str) -> TransferOutcome | None: ...

    async def statement(self, key: AccountKey, after: str | None, limit: int) -> Sequence[StatementLine]:
        """The transfers that moved money into or out of the account, by transfer id, after `after`."""


class FintechUseRepository(Protocol):
    """The fintech-use numbers issued, one per account."""

    async def issue(self, key: AccountKey, candidate: str) -> str:
        """The account's number: the one issued before, or else `candidate`, stored now."""

    async def account_of(self, fintech_use_num: str) -> AccountKey | None: ...


class UnitOfWork(Protocol):
    """One atomic piece of work: nothing is kept unless `commit()` is called before leaving it."""

    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def transfers(self) -> TransferRepository: ...

    @property
    def fintech_uses(self) -> FintechUseRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...
