"""Franchise's public API models, as other services read them (SPEC "Franchise")."""

from datetime import datetime
from decimal import Decimal

from pydantic import ConfigDict, Field

from pay.contracts.messages import CamelModel


class Franchise(CamelModel):
    """A merchant: who owns it, where it is paid, and the fee rate (decimal percent, "3.5") of its payments."""

    model_config = ConfigDict(extra="ignore")

    franchise_id: str
    owner_membership_id: str
    name: str
    contact: str
    bank_name: str
    bank_account_number: str
    fee_rate: Decimal = Field(description='Decimal percent as a string, such as "3.5"')
    webhook_url: str | None = None
    is_valid: bool
    created_at: datetime
    updated_at: datetime
