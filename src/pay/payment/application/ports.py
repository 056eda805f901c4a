"""What the payment use cases need from the outside world."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Protocol, Self, TypeVar

from pay.payment.domain.model import BankAccount, FranchiseClaim, Payment, Refund
from pay.payment.domain.saga import Saga


class DownstreamUnavailable(Exception):
    """Membership, franchise, banking or money did not answer: nothing was recorded."""


class ClaimContended(Exception):
    """A claim met another transaction in a way PostgreSQL would not wait out (a deadlock): nothing was claimed,
    and asking again claims as usual."""


class Members(Protocol):
    async def ensure_valid(self, membership_id: str) -> None:
        """Raises PayerNotFound for a member membership does not know, PayerInvalid for one it made invalid."""


@dataclass(frozen=True)
class FranchiseFacts:
    """What payment reads of a franchise: who owns it, whether it may take payments, and its fee rate now."""

    franchise_id: str
    owner_membership_id: str
    is_valid: bool
    fee_rate: Decimal


class Franchises(Protocol):
    async def get(self, franchise_id: str) -> FranchiseFacts:
        """Raises FranchiseNotFound for a franchise the franchise service does not know."""


class LinkedAccounts(Protocol):
    async def of(self, membership_id: str) -> BankAccount:
        """The member's linked bank account; raises NoLinkedAccount when it has none that may be used."""


class Wallets(Protocol):
    async def available(self, membership_id: str) -> int:
        """What the member's wallet can spend now; raises PayerNotFound when it has no wallet."""


@dataclass(frozen=True)
class Page:
    payments: Sequence[Payment]
    next_cursor: str | None


@dataclass(frozen=True)
class RefundPage:
    refunds: Sequence[Refund]
    next_cursor: str | None


class PaymentRepository(Protocol):
    async def add(self, payment: Payment) -> None: ...

    async def get(self, payment_id: str, *, for_update: bool = False) -> Payment | None: ...

    async def save(self, payment: Payment) -> None: ...

    async def approved_between(
        self, start: datetime, end: datetime, franchise_id: str | None, after: str | None, limit: int
    ) -> Page:
        """Approved at or after `start` and before `end`, oldest approval first, after the cursor."""

    async def unsettled(
        self, franchise_id: str | None, start: datetime | None, end: datetime | None, after: str | None, limit: int
    ) -> Page:
        """APPROVED and not settled, optionally approved within [start, end), oldest first, after the cursor."""


class RefundRepository(Protocol):
    async def add(self, refund: Refund) -> None: ...

    async def get(self, refund_id: str, *, for_update: bool = False) -> Refund | None: ...

    async def save(self, refund: Refund) -> None: ...

    async def of_payment(self, payment_id: str, after: str | None, limit: int) -> RefundPage: ...

    async def owed(self, franchise_id: str | None, after: str | None, limit: int) -> RefundPage:
        """Succeeded refunds of settled payments that no settlement has claimed or deducted yet, oldest first."""


class SettlementClaims(Protocol):
    async def claim(self, settlement_id: str, since: datetime, until: datetime, now: datetime) -> list[FranchiseClaim]:
        """Claim for the settlement, per franchise, the APPROVED payments approved in [since, until) that no
        settlement holds and have no refund under way, and the refunds those franchises owe; the sums per franchise.
        A settlement that claimed before is answered what it claimed then, and claims nothing more."""

    async def get(
        self, settlement_id: str, franchise_id: str, *, for_update: bool = False
    ) -> FranchiseClaim | None: ...

    async def settled(self, claim: FranchiseClaim, now: datetime) -> None:
        """The claim's payments become SETTLED and its refunds deducted."""

    async def released(self, claim: FranchiseClaim, now: datetime) -> None:
        """The claim's payments become APPROVED again and its refunds owed, for a later settlement."""

    async def payments_of(self, settlement_id: str, after: str | None, limit: int) -> Page:
        """The payments the settlement holds or settled, by franchise, after the cursor."""


class SagaRepository(Protocol):
    async def add(self, saga: Saga) -> None: ...

    async def lock(self, saga_id: str, *, skip_locked: bool = False) -> Saga | None: ...

    async def save(self, saga: Saga) -> None: ...

    async def count_unfinished(self) -> int: ...


class Inbox(Protocol):
    async def first_delivery(self, consumer: str, message_id: str) -> bool: ...


class RequestKey(Protocol):
    """A client's Idempotency-Key, as the inbound adapter passed it on: opaque here."""


class PriorAnswer(Protocol):
    """What an earlier request with the same key was answered: opaque here, the inbound adapter replays it."""


class UnitOfWork(Protocol):
    """One transaction. Its commit also sends the commands the sagas it handled asked for, and the events the
    payments it saved recorded."""

    @property
    def payments(self) -> PaymentRepository: ...

    @property
    def refunds(self) -> RefundRepository: ...

    @property
    def settlement_claims(self) -> SettlementClaims: ...

    @property
    def sagas(self) -> SagaRepository: ...

    @property
    def inbox(self) -> Inbox: ...

    async def earlier_answer(self, key: RequestKey) -> PriorAnswer | None: ...

    async def keep_answer(self, key: RequestKey, outcome: object) -> None: ...

    async def commit(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


T = TypeVar("T")


class EndWatch(Protocol):
    """Wakes a caller waiting in this process for a payment or refund to end (`pay.platform.watch.EndWatch`)."""

    def ended(self, key: str) -> None: ...

    async def until_ended(
        self, key: str, read: Callable[[], Awaitable[T]], ended: Callable[[T], bool], last_seen: T, seconds: float
    ) -> T: ...


class Clock(Protocol):
    def __call__(self) -> datetime: ...
