"""Money's own settings (`PAY_*`), besides those every service shares."""

from pydantic import Field

from pay.platform.settings import Settings


class MoneySettings(Settings):
    service: str = "money"
    money_wait_seconds: float = Field(default=5.0, ge=0, description="How long /money/increase waits")
    wallet_balance_limit: int = Field(default=10**13, gt=0, description="The most one wallet may hold, in won")
    saga_retry_first_seconds: float = Field(default=1.0, gt=0, description="First wait before a saga asks again")
    saga_retry_max_seconds: float = Field(default=30.0, gt=0, description="Longest wait between a saga's tries")
    account_check_deadline_seconds: float = Field(
        default=30.0, gt=0, description="How long a recharge or withdrawal may wait for banking to name the account"
    )
    refund_retry_seconds: float = Field(
        default=4 * 3600.0,
        gt=0,
        description="How long a recharge whose wallet could not take the money keeps sending it back when the "
        "member's bank refuses the refund; then it fails and `pay reconcile` names it for an operator",
    )
    refund_retry_max_pause_seconds: float = Field(
        default=900.0, gt=0, description="Longest pause between two refunds the member's bank refused"
    )
