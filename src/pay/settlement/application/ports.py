"""What the settlement use cases need from the outside world."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from pay.settlement.domain.model import (
    BankAccount,
    CarriedDebt,
    Claimed,
    Line,
    LineStatus,
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


@dataclass(frozen=True)
class ReportRow:
    settlement_id: str
    franchise_id: str
    payment_id: str
    price: int
    refunded: int
    fee: int


@dataclass(frozen=True)
class ReportPage:
    rows: Sequence[ReportRow]
    next_cursor: str | None


class Payments(Protocol):
    """Payment's side of settlement, whatever its API looks like: the one place to adjust when it changes."""

    async def claim(self, settlement_id: str, period: Period) -> list[Claimed]:
        """Have payment claim for the run, per franchise, the settleable payments approved in the period and the
        refunds those franchises owe; the sums. Asked again, payment answers the same and claims nothing more."""

    async def finish(self, settlement_id: str, franchise_id: str) -> None:
        """The line's payments become SETTLED and its refunds deducted; harmless when repeated. Raises
        DownstreamUnavailable when payment did not confirm it."""

    async def release(self, settlement_id: str, franchise_id: str) -> None:
        """The line's payments and refunds are given back for a later run; harmless when repeated. Raises
        DownstreamUnavailable when payment did not confirm it."""

    async def report_page(self, settlement_id: str, cursor: str | None) -> ReportPage:
        """One page of the payments the run holds or settled, by franchise."""


class Franchises(Protocol):
    async def get(self, franchise_id: str) -> Franchise:
        """Raises FranchiseNotFound, or DownstreamUnavailable."""


@dataclass(frozen=True)
class SettlementPage:
    settlements: Sequence[Settlement]
    next_cursor: int | None


class SettlementRepository(Protocol):
    async def add(self, settlement: Settlement) -> None: ...

    async def exists(self, settlement_id: str) -> bool: ...

    async def get(self, settlement_id: str, *, for_update: bool = False) -> Settlement | None:
        """The run with its lines."""

    async def lock_run(self, settlement_id: str) -> Settlement | None:
        """The run locked, without its lines: a line that ends reads only itself and its siblings' statuses."""

    async def line(self, settlement_id: str, franchise_id: str) -> Line | None: ...

    async def line_statuses(self, settlement_id: str) -> set[LineStatus]:
        """The statuses the run's lines have, each once."""

    async def save(self, settlement: Settlement) -> None:
        """The run's own fields; lines are added and saved one by one."""

    async def add_line(self, line: Line) -> None: ...

    async def save_line(self, line: Line) -> None: ...

    async def under_way(self) -> tuple[int, int]:
        """How many runs are RUNNING, and how many lines PENDING."""

    async def with_line_of(self, franchise_id: str, before: int | None, limit: int) -> SettlementPage:
        """Runs with a line for the franchise, newest first, before the cursor; only that line in each."""


class Debts(Protocol):
    """What successful lines carried (could not deduct), each claimed by one line at a time and kept claimed once
    that line succeeded, so that a debt is deducted exactly once."""

    async def claim(self, line: str, franchise_id: str) -> list[CarriedDebt]:
        """Claims every unclaimed debt the franchise carries."""

    async def release(self, line: str) -> None:
        """The line failed: what it claimed may be claimed again."""

    async def carry(self, debt: CarriedDebt) -> None: ...


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
    """One transaction. Its commit also sends the commands the sagas it handled asked for, and the events the
    lines it saved recorded."""

    @property
    def settlements(self) -> SettlementRepository: ...

    @property
    def debts(self) -> Debts: ...

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
