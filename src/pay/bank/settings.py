"""The bank simulator's own settings (`PAY_*`), besides those every service shares."""

from pay.platform.settings import Settings


class BankSettings(Settings):
    service: str = "bank"
