"""What the banking use cases need from the outside world."""

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from pay.banking.domain.balance import SeenBalance
from pay.banking.domain.model import (
    AccountRef,
    AccountStanding,
    BankAnswer,
    FirmbankingRequest,
    MemberStanding,
    RegisteredBankAccount,
    TransferOrder,
)


class MembershipUnavailable(Exception):
    """Membership did not answer, so whether the member may act is unknown."""


class BankUnavailable(Exception):
    """The bank did not answer a question about an account."""


class Members(Protocol):
    async def standing(self, membership_id: str) -> MemberStanding:
        """Raises MemberNotFound, or MembershipUnavailable."""


class Bank(Protocol):
    async def account(self, account: AccountRef) -> AccountStanding:
        """Raises BankAccountNotFound, or BankUnavailable."""

    async def transfer(self, order: TransferOrder, send_until: datetime) -> BankAnswer:
        """Have the bank execute `order`, in a bounded time, sending it again under the same transfer id
        while its outcome is unknown; nothing is sent from `send_until` on. Never raises for a bank
        that does not answer: that is `Unknown`."""

    async def fintech_use(self, account: AccountRef) -> str:
        """The fintech-use number the bank issues for the account (the same every time). Raises
        BankAccountNotFound, or BankUnavailable."""

    async def balance(self, fintech_use_num: str) -> int:
        """What the account the number names holds now. Raises BankAccountNotFound, or BankUnavailable."""

    async def outcome_of(self, transfer_id: str) -> BankAnswer:
        """Ask the bank what became of a transfer, without sending it. Never raises for a bank that does not
        answer: that is `Unknown`."""


class LinkedAccountRepository(Protocol):
    async def add(self, link: RegisteredBankAccount) -> None:
        """Raises AccountAlreadyLinked or MemberAlreadyLinked, and stores nothing, if either is taken."""

    async def of_member(self, membership_id: str) -> RegisteredBankAccount | None: ...

    async def of_account(self, account: AccountRef) -> RegisteredBankAccount | None: ...

    async def keep_fintech_use(self, registered_bank_account_id: str, fintech_use_num: str) -> None:
        """Store the number the bank issued for a link that had none."""


class FirmbankingRequestRepository(Protocol):
    """Firm banking requests and their sagas. Whoever changes a request holds its lock (`lock`), and never
    while calling the bank."""

    async def claim_transfer(self, request: FirmbankingRequest) -> FirmbankingRequest:
        """Store `request` and return it, unless its transfer id is already taken: then store nothing and
        return the request that holds it, locked until the end of the unit of work."""

    async def get(self, firmbanking_request_id: str) -> FirmbankingRequest | None: ...

    async def lock(self, firmbanking_request_id: str, *, skip_locked: bool = False) -> FirmbankingRequest | None:
        """The request, locked until the end of the unit of work; with `skip_locked`, None if another holds it."""

    async def touching(
        self, bank_account_number: str, bank_name: str | None, limit: int
    ) -> Sequence[FirmbankingRequest]:
        """Requests from or to the account, newest first."""

    async def save(self, request: FirmbankingRequest) -> None: ...


class RequestKey(Protocol):
    """A client's Idempotency-Key for one request, as the inbound adapter passed it on: opaque here."""


class PriorAnswer(Protocol):
    """What an earlier request with the same key was answered: opaque here, the inbound adapter replays it."""


class Inbox(Protocol):
    async def first_delivery(self, consumer: str, message_id: str) -> bool:
        """Record the message as applied by `consumer`; False if it already was."""


class UnitOfWork(Protocol):
    @property
    def accounts(self) -> LinkedAccountRepository: ...

    @property
    def requests(self) -> FirmbankingRequestRepository: ...

    @property
    def inbox(self) -> Inbox: ...

    async def earlier_answer(self, key: RequestKey) -> PriorAnswer | None:
        """What an earlier request with this key was answered; None for a new key. Raises the refusal of
        this request when the key names another request, or one still running."""

    async def keep_answer(self, key: RequestKey, outcome: object) -> None:
        """Store the key with what its request is answered for this outcome, in this transaction."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None:
        """Keep the changes, and send the answers of the requests settled in this unit of work."""


class CacheUnavailable(Exception):
    """The cache did not answer."""


class BalanceCache(Protocol):
    """The balances last seen at the bank, by linked account: shared by every instance of banking. Both methods
    raise CacheUnavailable."""

    async def get(self, registered_bank_account_id: str) -> SeenBalance | None: ...

    async def put(self, registered_bank_account_id: str, seen: SeenBalance) -> None: ...


class Clock(Protocol):
    def __call__(self) -> datetime: ...
