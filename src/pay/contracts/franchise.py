"""Franchise's public API models and events (SPEC "Franchise")."""

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from pay.contracts.messages import CamelModel, Message
from pay.contracts.types import (
    NO_CONTROL_CHARACTERS,
    BankAccountNumber,
    BankName,
    FeeRate,
    Flag,
    Identifier,
    Name,
    WebhookUrl,
)

# How to reach the merchant: a phone number, an email, a person's name.
Contact = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_CONTROL_CHARACTERS)
]


class RegisterFranchiseRequest(CamelModel):
    owner_membership_id: Identifier
    name: Name
    contact: Contact
    bank_name: BankName = Field(description="The settlement account's bank; the bank must confirm the account")
    bank_account_number: BankAccountNumber
    fee_rate: FeeRate
    webhook_url: WebhookUrl | None = None


class ModifyFranchiseRequest(CamelModel):
    """Only what is sent changes; `webhookUrl: null` removes the webhook. The fee rate and `isValid` are changed
    by admins only, and a new settlement account must be confirmed by the bank."""

    name: Name | None = None
    contact: Contact | None = None
    bank_name: BankName | None = None
    bank_account_number: BankAccountNumber | None = None
    fee_rate: FeeRate | None = None
    webhook_url: WebhookUrl | None = None
    is_valid: Flag | None = None


class Franchise(CamelModel):
    model_config = ConfigDict(extra="ignore")

    franchise_id: str
    owner_membership_id: str
    name: str
    contact: str
    bank_name: str
    bank_account_number: str
    fee_rate: FeeRate = Field(description="The rate in force now: payments take it at payment time")
    webhook_url: str | None
    is_valid: bool
    created_at: datetime
    updated_at: datetime


class FranchisePage(CamelModel):
    items: list[Franchise]
    next_cursor: str | None = Field(description="Pass it back as `cursor` for the next page; null on the last")


class FranchiseRegistered(Message):
    subject = "pay.events.franchise.registered.v1"

    franchise_id: str
    owner_membership_id: str
    name: str
    bank_name: str
    bank_account_number: str
    fee_rate: FeeRate
    fee_rate_since: datetime
    webhook_url: str | None
    is_valid: bool


class FranchiseModified(Message):
    """The franchise as it is after the change; `feeRateSince` is when its fee rate took effect."""

    subject = "pay.events.franchise.modified.v1"

    franchise_id: str
    owner_membership_id: str
    name: str
    bank_name: str
    bank_account_number: str
    fee_rate: FeeRate
    fee_rate_since: datetime
    webhook_url: str | None
    is_valid: bool
