"""What the settlement use cases need from the outside world."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from pay.settlement.domain.model import (
    BankAccount,
    CarriedDebt,
    Line,
    OwedRefund,
    PaymentToSettle,
    Period,
    Settlement,
)
from pay.settlement.domain.saga import LineSaga, RunSaga, ScheduleSaga


class DownstreamUnavailable(Exception):
    """Payment or franchise did not answer usefully."""


@dataclass(frozen=True)
class Franchise:
    franchise_id: str
    owner_membership_id: str
    account: BankAccount | None


class Payments(Protocol):
    """Payment's side of settlement, whatever its API looks like: the one place to adjust when it changes."""

    async def approved_in(self, period: Period) -> list[PaymentToSettle]:
        """Every franchise's payments approved in the period (each says whether it may still be settled)."""

    async def owed_refunds(self, franchise_id: str) -> list[OwedRefund]:
        """Refunds of the franchise's settled payments that no settlement has deducted yet."""

    async def finish(self, settlement_id: str, payment_ids: Sequence[str], refund_ids: Sequence[str]) -> None:
        """Mark the payments SETTLED and the refunds deducted by the settlement; harmless when repeated.
        Raises DownstreamUnavailable when payment did not confirm it."""


class Franchises(Protocol):
    async def get(self, franchise_id: str) -> Franchise:
        """Raises FranchiseNotFound, or DownstreamUnavailable."""


@dataclass(frozen=True)
class ReportRow:
    settlement_id: str
    franchise_id: str
    payment_id: str
    price: int
    refunded: int
    fee: int


@dataclass(frozen=True)
class SettlementPage:
    settlements: Sequence[Settlement]
    next_cursor: int | None


class SettlementRepository(Protocol):
    async def add(self, settlement: Settlement) -> None: ...

    async def exists(self, settlement_id: str) -> bool: ...

    async def get(self, settlement_id: str, *, for_update: bool = False) -> Settlement | None:
        """The run with its lines."""

    async def save(self, settlement: Settlement) -> None:
        """The run's own fields; lines are added and saved one by one."""

    async def add_line(self, line: Line) -> None: ...

    async def save_line(self, line: Line) -> None: ...

    async def under_way(self) -> tuple[int, int]:
        """How many runs are RUNNING, and how many lines PENDING."""

    async def with_line_of(self, franchise_id: str, before: int | None, limit: int) -> SettlementPage:
        """Runs with a line for the franchise, newest first, before the cursor; only that line in each."""


class Claims(Protocol):
    """Which run settles each payment, each owed refund and each carried debt: a thing is claimed by one line
    at a time, and a claim is kept once the line succeeded, so that nothing is ever settled twice."""

    async def claim_payments(self, line: str, settlement_id: str, payments: Sequence[PaymentToSettle]) -> list[str]:
        """Claims those no other line holds; the ids of those claimed now. A concurrent claim of the same
        payment waits for the other transaction and then finds it taken."""

    async def claim_refunds(
        self, line: str, settlement_id: str, franchise_id: str, refunds: Sequence[OwedRefund]
    ) -> list[str]: ...

    async def claim_debts(self, line: str, franchise_id: str) -> list[CarriedDebt]:
        """Claims every unclaimed debt the franchise carries."""

    async def release(self, line: str) -> None:
        """The line failed: what it claimed may be claimed again."""

    async def carry(self, debt: CarriedDebt) -> None: ...

    async def of_line(self, line: str) -> tuple[list[str], list[str]]:
        """The payment ids and refund ids the line claimed."""

    async def report(self, settlement_id: str) -> list[ReportRow]:
        """One row per payment the run settles (or is settling), by franchise and payment."""


class SagaRepository(Protocol):
    async def add(self, saga: LineSaga | RunSaga | ScheduleSaga) -> None: ...

    async def lock(self, saga_id: str, *, skip_locked: bool = False) -> LineSaga | RunSaga | ScheduleSaga | None: ...

    async def save(self, saga: LineSaga | RunSaga | ScheduleSaga) -> None: ...


class Inbox(Protocol):
    async def first_delivery(self, consumer: str, message_id: str) -> bool: ...


class RequestKey(Protocol):
    """A client's Idempotency-Key, as the inbound adapter passed it on: opaque here."""


class PriorAnswer(Protocol):
    """What an earlier request with the same key was answered: opaque here, the inbound adapter replays it."""


class UnitOfWork(Protocol):
    """One transaction. Its commit also sends the commands the sagas it handled asked for."""

    @property
    def settlements(self) -> SettlementRepository: ...

    @property
    def claims(self) -> Claims: ...

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


class Clock(Protocol):
    def __call__(self) -> datetime: ...
