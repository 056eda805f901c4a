"""Payment's own settings (`PAY_*`), besides those every service shares."""

from pydantic import Field

from pay.platform.settings import Settings


class PaymentSettings(Settings):
    service: str = "payment"
    payment_wait_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long `POST /payment/request` and `POST /payment/{id}/cancel` wait for the outcome before 202",
    )
    payment_retry_first_seconds: float = Field(
        default=2.0, gt=0, description="Pause before a step's unanswered command is sent again; it doubles"
    )
    payment_retry_max_seconds: float = Field(default=30.0, gt=0, description="Longest pause between two sends")
