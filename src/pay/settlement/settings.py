"""Settlement's own settings (`PAY_*`), besides those every service shares."""

from pydantic import Field, field_validator

from pay.platform.settings import Settings
from pay.settlement.domain.model import Schedule


class SettlementSettings(Settings):
    service: str = "settlement"
    business_timezone: str = Field(default="Asia/Seoul", description="Where a business day begins and ends")
    settlement_schedule: str = Field(
        default="daily@00:30",
        description="`daily@HH:MM` (business time zone): each day's run settles the day before; or `off`",
    )
    # A run sends every franchise's payout at once, and banking works through them for a while: a shorter
    # pause sent most of them again (and again) while their first copies still waited for the bank.
    settlement_retry_first_seconds: float = Field(
        default=30.0, gt=0, description="Pause before a step's unanswered command is sent again; it doubles"
    )
    settlement_retry_max_seconds: float = Field(default=60.0, gt=0, description="Longest pause between two sends")
    settlement_gather_lease_seconds: float = Field(
        default=300.0, gt=0, description="How long gathering a run's payments may take before it is tried again"
    )

    @field_validator("settlement_schedule")
    @classmethod
    def _a_schedule(cls, value: str) -> str:
        Schedule.parse(value)
        return value
