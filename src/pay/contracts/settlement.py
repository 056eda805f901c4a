"""Settlement's public API models (SPEC "Settlement")."""

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from pay.contracts.messages import CamelModel, Message

# The longest period one run settles, both ends included.
MAX_PERIOD_DAYS = 31

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    # Pydantic would also read a number as seconds since 1970, or a date-time: only `YYYY-MM-DD` is a date here.
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


BusinessDate = Annotated[date, BeforeValidator(_iso_date), Field(description="A day in the business time zone")]


class StartSettlementBody(CamelModel):
    """The business days to settle, both included: `from` ≤ `to`, at most 31 days."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    period_from: BusinessDate = Field(alias="from")
    period_to: BusinessDate = Field(alias="to")

    @model_validator(mode="after")
    def _a_period(self) -> "StartSettlementBody":
        if self.period_from > self.period_to:
            raise ValueError("`from` is after `to`")
        if (self.period_to - self.period_from).days + 1 > MAX_PERIOD_DAYS:
            raise ValueError(f"a period is at most {MAX_PERIOD_DAYS} days")
        return self


class SettlementStatus(StrEnum):
    """RUNNING until its payments are gathered and every line has ended; then SUCCEEDED (also when there was
    nothing to settle), FAILED when every line failed, PARTIALLY_FAILED when some did."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    PARTIALLY_FAILED = "PARTIALLY_FAILED"
    FAILED = "FAILED"


class LineStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class SettlementLine(CamelModel):
    franchise_id: str
    gross: int = Field(description="Σ (price − refunded) of the payments this line settles")
    fee: int = Field(description="Σ fees of those payments, moved to the platform's revenue")
    owed: int = Field(description="Refunds of earlier settled payments, and what earlier lines carried")
    payout: int = Field(description="gross − fee − owed, never below zero, paid to the franchise's bank account")
    carried: int = Field(description="What stays owed when gross − fee − owed is negative: the next line deducts it")
    status: LineStatus
    reason: str | None
    payment_count: int


class Settlement(CamelModel):
    model_config = ConfigDict(populate_by_name=True)

    settlement_id: str
    period_from: date = Field(alias="from")
    period_to: date = Field(alias="to")
    status: SettlementStatus
    lines: list[SettlementLine]
    created_at: datetime
    updated_at: datetime
    status_url: str


class SettlementSummary(CamelModel):
    """What is still under way: `pendingLines` may still be moving money (`pay reconcile` checks at rest)."""

    model_config = ConfigDict(extra="ignore")

    running_settlements: int
    pending_lines: int


class SettlementPage(CamelModel):
    """Runs with a line for the franchise, newest first, each with that franchise's line only."""

    franchise_id: str
    items: list[Settlement]
    next_cursor: str | None = Field(description="Pass it back as `cursor` for the next page; null on the last")


class SettlementLinePaid(Message):
    """A franchise's line of a settlement ended SUCCEEDED: its fee is revenue, its payout is at its bank."""

    subject = "pay.events.settlement.line-paid.v1"

    settlement_id: str
    line: SettlementLine


class SettlementLineFailed(Message):
    """A franchise's line of a settlement ended FAILED (`line.reason`); its payments stay unsettled."""

    subject = "pay.events.settlement.line-failed.v1"

    settlement_id: str
    line: SettlementLine
