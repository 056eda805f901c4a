"""Money aggregation's own settings (`PAY_*`), besides those every service shares."""

from pydantic import Field

from pay.platform.settings import Settings


class MoneyAggregationSettings(Settings):
    service: str = "money-aggregation"
    aggregation_page_size: int = Field(
        default=500, ge=1, le=500, description="Members asked of membership per page of a region"
    )
    aggregation_concurrency: int = Field(
        default=4, ge=1, le=32, description="Batches of balances asked of money at the same time, per sum"
    )
