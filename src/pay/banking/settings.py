"""Banking's own settings (`PAY_*`), besides those every service shares: its patience with the bank."""

from pydantic import Field

from pay.platform.settings import Settings


class BankingSettings(Settings):
    service: str = "banking"
    bank_timeout_seconds: float = Field(default=2.0, gt=0, description="Longest one call to the bank may take")
    bank_attempts: int = Field(default=3, ge=1, le=10, description="Tries of one call to the bank")
    bank_retry_first_seconds: float = Field(
        default=0.2, gt=0, description="Pause before a call to the bank is tried again; it doubles with each try"
    )
    bank_retry_max_seconds: float = Field(default=1.0, gt=0, description="Longest pause between two tries")
    bank_retry_budget_seconds: float = Field(default=4.0, gt=0, description="How long one call may be tried again")
    bank_breaker_threshold: int = Field(default=5, ge=1, description="Failed calls in a row that open the circuit")
    bank_breaker_reset_seconds: float = Field(
        default=15.0, gt=0, description="How long an open circuit refuses calls before one is tried"
    )
    firmbanking_send_window_seconds: float = Field(
        default=120.0, gt=0, description="How long an unanswered transfer may be sent to the bank again"
    )
    firmbanking_not_received_grace_seconds: float = Field(
        default=60.0, gt=0, description="After the window, how long before 'never received' becomes FAILED"
    )
    firmbanking_recheck_first_seconds: float = Field(
        default=1.0, gt=0, description="Pause before a request the bank did not answer is checked; it doubles"
    )
    firmbanking_recheck_max_seconds: float = Field(default=30.0, gt=0, description="Longest pause between checks")
    bank_balance_max_age_seconds: float = Field(
        default=60.0, gt=0, description="A cached bank balance older than this is refreshed in the background"
    )
    bank_balance_wait_seconds: float = Field(
        default=3.0, gt=0, description="Longest a balance read waits for the bank (`?refresh=true`, or nothing cached)"
    )
