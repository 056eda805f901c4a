"""Remittance's own settings (`PAY_*`), besides those every service shares."""

from pydantic import Field

from pay.platform.settings import Settings


class RemittanceSettings(Settings):
    service: str = "remittance"
    remittance_daily_limit: int = Field(
        default=2_000_000, ge=1, description="Most won a member may send in one business day"
    )
    business_timezone: str = Field(default="Asia/Seoul", description="Where a business day begins and ends")
    remittance_wait_seconds: float = Field(
        default=5.0, ge=0, description="How long `POST /remittance/request` waits for the outcome before 202"
    )
    remittance_retry_first_seconds: float = Field(
        default=2.0, gt=0, description="Pause before a step's unanswered command is sent again; it doubles"
    )
    remittance_retry_max_seconds: float = Field(default=30.0, gt=0, description="Longest pause between two sends")
