"""Banking's own settings (`PAY_*`), besides those every service shares: its patience with the bank."""

from pydantic import Field

from pay.platform.settings import Settings


class BankingSettings(Settings):
    service: str = "banking"
    bank_timeout_seconds: float = Field(default=2.0, gt=0, description="Longest one call to the bank may take")
    bank_attempts: int = Field(default=3, ge=1, le=10)
    bank_breaker_threshold: int = Field(default=5, ge=1, description="Failed calls in a row that open the circuit")
    bank_breaker_reset_seconds: float = Field(default=15.0, gt=0)
    firmbanking_send_window_seconds: float = Field(
        default=120.0, gt=0, description="How long an unanswered transfer may be sent to the bank again"
    )
    firmbanking_not_received_grace_seconds: float = Field(
        default=60.0, gt=0, description="After the window, how long before 'never received' becomes FAILED"
    )
