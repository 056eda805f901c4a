"""Franchise's public API models and events (SPEC "Franchise")."""

from datetime import datetime
from enum import StrEnum
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


class RegisteredFranchise(Franchise):
    webhook_secret: str = Field(
        description="Signs every webhook delivery (`Pay-Signature`). Shown in this answer only: keep it; "
        "`POST /franchise/{franchiseId}/webhook-secret` replaces it"
    )


class WebhookSecret(CamelModel):
    model_config = ConfigDict(extra="ignore")

    webhook_secret: str = Field(description="The new signing secret, in force now; shown in this answer only")


class WebhookDeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    GAVE_UP = "GAVE_UP"


class WebhookAttempt(CamelModel):
    model_config = ConfigDict(extra="ignore")

    attempt: int = Field(description="The try's number within its delivery")
    at: datetime
    status_code: int | None = Field(description="What the receiver answered; null when no answer came")
    error: str | None = Field(description="Why no answer came: a timeout, a refused address, a connection error")
    duration_ms: int


class WebhookDelivery(CamelModel):
    model_config = ConfigDict(extra="ignore")

    delivery_id: str
    event_id: str = Field(description="The `id` in the posted body: the same in every try and redelivery")
    event_type: str
    status: WebhookDeliveryStatus = Field(
        description="PENDING while it is tried (again), DELIVERED on a 2xx, GAVE_UP after a day without one"
    )
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime
    attempts: list[WebhookAttempt] = Field(description="Every try, oldest first")


class WebhookDeliveryPage(CamelModel):
    model_config = ConfigDict(extra="ignore")

    items: list[WebhookDelivery] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass it back as `cursor` for the next page; null on the last")


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
