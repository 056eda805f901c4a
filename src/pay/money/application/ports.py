"""What the money use cases need from the outside world."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self, TypeVar

from pay.money.domain.accounts import Entry, Payable
from pay.money.domain.requests import BankLeg, MoneyChangingRequest
from pay.money.domain.sagas import BankAccount, MoneySaga
from pay.money.domain.wallet import Wallet, WalletEvent


@dataclass(frozen=True)
class HistoryPage:
    events: Sequence[WalletEvent]
    next_cursor: str | None


@dataclass(frozen=True)
class BankLegPage:
    legs: Sequence[BankLeg]
    next_cursor: str | None


@dataclass(frozen=True)
class FailedRefundPage:
    recharges: Sequence[MoneySaga]
    next_cursor: str | None


class WalletRepository(Protocol):
    async def add(self, wallet: Wallet) -> None:
        """Raises WalletAlreadyExists."""

    async def get(self, membership_id: str) -> Wallet | None: ...

    async def lock(self, membership_ids: Sequence[str]) -> Mapping[str, Wallet]:
        """The wallets that exist among these, locked until the unit of work ends, always in one order."""

    async def latest(self, membership_ids: Sequence[str]) -> Mapping[str, Wallet]:
        """The wallets that exist among these as this service last saw them, without a lock: a guess,
        so a write of one that changed meanwhile raises `OptimisticConcurrencyConflict`."""

    async def save(self, *wallets: Wallet) -> None:
        """Append the wallets' new events to their journals and store the balances they lead to."""

    async def balances(self, membership_ids: Sequence[str]) -> Mapping[str, int]: ...

    async def history(
        self, membership_id: str, since: datetime | None, until: datetime | None, cursor: str | None, limit: int
    ) -> HistoryPage: ...

    async def membership_ids(self) -> Sequence[str]: ...

    async def journal(self, membership_id: str) -> Sequence[WalletEvent]: ...

    async def totals(self) -> tuple[int, int, int]:
        """Wallet count, sum of balances and sum of held amounts."""


class RequestRepository(Protocol):
    async def add(self, *requests: MoneyChangingRequest) -> None: ...

    async def get(self, request_id: str, *, for_update: bool = False) -> MoneyChangingRequest | None: ...

    async def save(self, request: MoneyChangingRequest) -> None: ...

    async def count_pending(self) -> int: ...


class SagaRepository(Protocol):
    async def add(self, saga: MoneySaga) -> None: ...

    async def lock(self, saga_id: str, *, skip_locked: bool = False) -> MoneySaga | None: ...

    async def save(self, saga: MoneySaga) -> None: ...

    async def count_unfinished(self) -> int: ...

    async def failed_refunds(self, after: str | None, limit: int) -> FailedRefundPage:
        """Recharges that failed because the member's bank kept refusing their refund, by saga id after `after`."""


class AccountRepository(Protocol):
    """Payables and revenue: balances summed from their journal."""

    async def append(self, request_id: str, entries: Sequence[Entry], now: datetime) -> None: ...

    async def payable(self, franchise_id: str) -> Payable: ...

    async def totals(self) -> tuple[int, int]:
        """All payables together, and revenue."""


@dataclass(frozen=True)
class JournalBalance:
    """How many ledger transactions the journal holds, how many of them do not balance, and by how much some
    of those are off (won the platform holds for someone beyond what the transaction moved at the bank)."""

    transactions: int
    unbalanced: int
    off_by: Mapping[str, int]


class JournalCheck(Protocol):
    async def balance(self, shown: int) -> JournalBalance:
        """Every ledger transaction checked; at most `shown` of those that do not balance named."""


class BankLegRepository(Protocol):
    async def add(self, leg: BankLeg) -> bool:
        """False, adding nothing, if another leg is already this transfer."""

    async def page(self, after: str | None, limit: int) -> BankLegPage:
        """By transfer id, after `after`."""


class OptimisticConcurrencyConflict(Exception):
    """A write was based on something another transaction changed first: a wallet read with `latest`,
    or an Idempotency-Key stored meanwhile. Nothing of the write was kept."""


class RequestKey(Protocol):
    """A client's Idempotency-Key for one request, as the inbound adapter passed it on: opaque here."""


class PriorAnswer(Protocol):
    """What an earlier request with the same key was answered: opaque here, the inbound adapter replays it."""


class MemberStandings(Protocol):
    """Which members membership deactivated, as its events told money (`deactivated_members`)."""

    async def deactivated_among(self, membership_ids: Sequence[str]) -> set[str]: ...

    async def record(self, membership_id: str, is_valid: bool, as_of: datetime) -> None:
        """Whether the member is valid as of `as_of`; ignored when a later word was recorded already, so
        events that arrive out of order leave the latest standing."""


T = TypeVar("T")


class EndWatch(Protocol):
    """Wakes a caller waiting in this process for a request to end (`pay.platform.watch.EndWatch`)."""

    def ended(self, key: str) -> None: ...

    async def until_ended(
        self, key: str, read: Callable[[], Awaitable[T]], ended: Callable[[T], bool], last_seen: T, seconds: float
    ) -> T:
        """What `read` gives once it has `ended`, or as it stands after `seconds`; a failure to read
        answers what was last seen."""


class Inbox(Protocol):
    async def first_delivery(self, consumer: str, message_id: str) -> bool:
        """Record the message as applied by `consumer`; False if it already was."""


class UnitOfWork(Protocol):
    """One transaction. Its commit also sends the firm banking its sagas asked for."""

    @property
    def wallets(self) -> WalletRepository: ...

    @property
    def requests(self) -> RequestRepository: ...

    @property
    def sagas(self) -> SagaRepository: ...

    @property
    def inbox(self) -> Inbox: ...

    @property
    def members(self) -> MemberStandings: ...

    @property
    def bank_legs(self) -> BankLegRepository: ...

    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def journal(self) -> JournalCheck: ...

    async def earlier_answers(self, keys: Sequence[RequestKey]) -> Sequence[PriorAnswer | Exception | None]:
        """None for a new key; otherwise what its earlier request was answered, or the refusal to raise
        for this one. Of a key twice among these, only the first is new."""

    async def keep_answers(self, answers: Sequence[tuple[RequestKey, object]]) -> None:
        """Store each new key with what its request is answered for this outcome, in this transaction.
        Raises `OptimisticConcurrencyConflict` when a key was stored meanwhile."""

    async def save_transfers(
        self,
        requests: Sequence[MoneyChangingRequest],
        wallets: Sequence[Wallet],
        answers: Sequence[tuple[RequestKey, object]],
        guarded: Sequence[str] = (),
    ) -> None:
        """Store a group of transfers at once: their requests, the wallets they changed, and each new key
        with what its request is answered for its outcome. Raises `OptimisticConcurrencyConflict` when a wallet
        changed or a key was stored meanwhile, or when a changed wallet among `guarded` is a deactivated
        member's: the group was decided without knowing it."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...


class LinkedAccountUnusable(Exception):
    """The member has no linked bank account, or it is no longer valid."""


class BankingUnavailable(Exception):
    pass


class Banking(Protocol):
    async def linked_account(self, membership_id: str) -> BankAccount:
        """Raises LinkedAccountUnusable or BankingUnavailable."""


class Clock(Protocol):
    def __call__(self) -> datetime: ...
