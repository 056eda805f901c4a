"""A settlement run and its lines: what each franchise is paid for its payments of a period, and the rules.

All amounts are whole won (`int`). Per franchise in a run (SPEC "Settlement"), payment claims the payments and
owed refunds for the run and sums them (decision 25); settlement adds what earlier lines carried:

    gross  = Σ (price − refunded) of its APPROVED payments approved in the period, claimed by this run
    fee    = Σ fee of those payments
    owed   = Σ refunds it owes from payments settled earlier (claimed with them) + what earlier lines carried
    payout = gross − fee − owed, never below zero
    carried = what stays owed when gross − fee − owed is negative: the next line of the franchise deducts it
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

# The longest period one run settles, in days, both ends included.
MAX_PERIOD_DAYS = 31
# Ids derived from a line (`<line>-payout`, `<line>-settle`, `<line>-settle-<n>`) must fit money's and
# banking's 64-character identifiers.
_MAX_LINE_KEY = 52


class SettlementStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    PARTIALLY_FAILED = "PARTIALLY_FAILED"
    FAILED = "FAILED"


class LineStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class InvalidPeriod(Exception):
    pass


class SettlementNotFound(Exception):
    pass


class FranchiseNotFound(Exception):
    pass


class NotTheOwner(Exception):
    """The caller neither owns the franchise nor acts as admin or service."""


@dataclass(frozen=True)
class Period:
    """Business days, both ends included, in the business time zone."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise InvalidPeriod(f"the period starts {self.first}, after it ends {self.last}")
        if (self.last - self.first).days + 1 > MAX_PERIOD_DAYS:
            raise InvalidPeriod(f"a period is at most {MAX_PERIOD_DAYS} days")

    def instants(self, timezone: tzinfo) -> tuple[datetime, datetime]:
        """When its first business day begins, and when the day after its last begins."""
        return (
            datetime.combine(self.first, time(), timezone),
            datetime.combine(self.last + timedelta(days=1), time(), timezone),
        )


@dataclass(frozen=True)
class BankAccount:
    bank_name: str
    account_number: str


@dataclass(frozen=True)
class Claimed:
    """What payment claimed for a run of one franchise, summed: its settleable payments of the period and the
    refunds it owed from payments settled earlier."""

    franchise_id: str
    gross: int
    fee: int
    payment_count: int
    owed_refunds: int


@dataclass(frozen=True)
class CarriedDebt:
    """What a successful line could not deduct (its `carried`), owed by the franchise to its next line."""

    debt_id: str
    franchise_id: str
    amount: int


@dataclass(frozen=True)
class LineSums:
    gross: int
    fee: int
    owed: int
    payout: int
    carried: int

    @classmethod
    def of(cls, claimed: Claimed, debts: Sequence[CarriedDebt] = ()) -> LineSums:
        owed = claimed.owed_refunds + sum(debt.amount for debt in debts)
        remainder = claimed.gross - claimed.fee - owed
        return cls(claimed.gross, claimed.fee, owed, max(remainder, 0), max(-remainder, 0))


def line_key(settlement_id: str, franchise_id: str) -> str:
    """The line's id, the root of its saga's and its money's ids: `<settlementId>-<franchiseId>`, or a digest
    of a franchise id too long for the ids derived from it to fit."""
    key = f"{settlement_id}-{franchise_id}"
    if len(key) <= _MAX_LINE_KEY:
        return key
    return f"{settlement_id}-{hashlib.sha256(franchise_id.encode()).hexdigest()[:24]}"


@dataclass(frozen=True)
class LineEnded:
    """A line ended, SUCCEEDED (its payout is at the franchise's bank) or FAILED (with its reason)."""

    line: Line


@dataclass
class Line:
    """What one franchise is settled in one run."""

    settlement_id: str
    franchise_id: str
    sums: LineSums
    payment_count: int
    status: LineStatus = LineStatus.PENDING
    reason: str | None = None
    events: list[LineEnded] = field(default_factory=list, compare=False, repr=False)

    @property
    def key(self) -> str:
        return line_key(self.settlement_id, self.franchise_id)

    def end(self, failure: str | None) -> None:
        if self.status is not LineStatus.PENDING:
            raise ValueError(f"line {self.key} already ended {self.status}")
        self.status = LineStatus.SUCCEEDED if failure is None else LineStatus.FAILED
        self.reason = failure
        self.events.append(LineEnded(replace(self, events=[])))


@dataclass
class Settlement:
    """A run: the payments of a period settled franchise by franchise, one line each."""

    settlement_id: str
    period: Period
    status: SettlementStatus
    created_at: datetime
    updated_at: datetime
    gathered: bool = False
    lines: list[Line] = field(default_factory=list)

    @classmethod
    def start(cls, settlement_id: str, period: Period, now: datetime) -> Settlement:
        return cls(settlement_id, period, SettlementStatus.RUNNING, now, now)

    def line_of(self, franchise_id: str) -> Line | None:
        return next((line for line in self.lines if line.franchise_id == franchise_id), None)

    def refresh(self, now: datetime) -> None:
        """The run's status from its lines: RUNNING until it has gathered its payments and every line ended;
        then SUCCEEDED (nothing to settle included), FAILED if every line failed, else PARTIALLY_FAILED."""
        self.refresh_from({line.status for line in self.lines}, now)

    def refresh_from(self, line_statuses: Collection[LineStatus], now: datetime) -> None:
        """As `refresh`, from the statuses its lines have, for a run read without them."""
        statuses = set(line_statuses)
        if not self.gathered or LineStatus.PENDING in statuses:
            status = SettlementStatus.RUNNING
        elif statuses <= {LineStatus.SUCCEEDED}:
            status = SettlementStatus.SUCCEEDED
        elif statuses == {LineStatus.FAILED}:
            status = SettlementStatus.FAILED
        else:
            status = SettlementStatus.PARTIALLY_FAILED
        if status is not self.status:
            self.status, self.updated_at = status, now


@dataclass(frozen=True)
class Schedule:
    """When runs start by themselves: every day at `at` in the business time zone, each settling the
    business day before; None is no schedule."""

    at: time | None

    @classmethod
    def parse(cls, text: str) -> Schedule:
        """`daily@HH:MM`, or `off`."""
        text = text.strip().lower()
        if text == "off":
            return cls(None)
        kind, _, moment = text.partition("@")
        try:
            if kind != "daily":
                raise ValueError(kind)
            return cls(time.fromisoformat(moment))
        except ValueError:
            raise ValueError(f"a settlement schedule is `daily@HH:MM` or `off`, not {text!r}") from None

    def __str__(self) -> str:
        return "off" if self.at is None else f"daily@{self.at.strftime('%H:%M')}"

    def run_time(self, day: date, timezone: tzinfo) -> datetime | None:
        """When the run settling `day` starts: at `at` on the next day."""
        if self.at is None:
            return None
        return datetime.combine(day + timedelta(days=1), self.at, tzinfo=timezone)


def business_day(now: datetime, timezone: tzinfo) -> date:
    return now.astimezone(timezone).date()


def scheduled_settlement_id(day: date) -> str:
    """The id of the scheduled run of a business day: one run per day, however often it is started."""
    return f"st-d{day:%Y%m%d}"
