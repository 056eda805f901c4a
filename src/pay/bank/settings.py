"""The bank simulator's own settings (`PAY_*`), besides those every service shares."""

from pydantic import Field

from pay.platform.settings import Settings


class BankSettings(Settings):
    service: str = "bank"
    corporate_seed_balance: int = Field(default=0, ge=0, description="What the corporate account holds when created")
