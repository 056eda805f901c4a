"""Money-query's own settings (`PAY_*`), besides those every service shares."""

from pydantic import Field

from pay.platform.settings import Settings


class MoneyQuerySettings(Settings):
    service: str = "money-query"
    # Events delivered together are applied in one transaction, so the more of them in flight, the fewer
    # transactions a burst costs (ADR 29).
    handlers_at_once: int = Field(
        default=256, ge=1, le=256, description="Messages of one consumer this process handles at the same time"
    )
