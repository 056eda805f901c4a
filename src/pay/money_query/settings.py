"""Money-query's own settings (`PAY_*`), besides those every service shares: none yet."""

from pay.platform.settings import Settings


class MoneyQuerySettings(Settings):
    service: str = "money-query"
