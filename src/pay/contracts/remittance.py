"""Remittance's public API models (SPEC "Remittance")."""

from datetime import date, datetime
from enum import StrEnum

from pydantic import ConfigDict, Field, model_validator

from pay.contracts.banking import FirmbankingRequest
from pay.contracts.messages import CamelModel, Message
from pay.contracts.money import MoneyChangingRequest
from pay.contracts.types import Amount, BankAccountNumber, BankName, Identifier


class RemittanceType(StrEnum):
    MEMBERSHIP = "MEMBERSHIP"
    BANK = "BANK"


class RemittanceStatus(StrEnum):
    REQUESTED = "REQUESTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class RemittanceRequestBody(CamelModel):
    """MEMBERSHIP names `toMembershipId` only; BANK names `toBankName` and `toBankAccountNumber` only."""

    from_membership_id: Identifier
    remittance_type: RemittanceType
    amount: Amount
    to_membership_id: Identifier | None = None
    to_bank_name: BankName | None = None
    to_bank_account_number: BankAccountNumber | None = None

    @model_validator(mode="after")
    def _one_kind_of_receiver(self) -> "RemittanceRequestBody":
        has_member = self.to_membership_id is not None
        has_bank = self.to_bank_name is not None or self.to_bank_account_number is not None
        if self.remittance_type is RemittanceType.MEMBERSHIP and (not has_member or has_bank):
            raise ValueError("a MEMBERSHIP remittance names toMembershipId and no bank fields")
        if self.remittance_type is RemittanceType.BANK and (
            has_member or self.to_bank_name is None or self.to_bank_account_number is None
        ):
            raise ValueError("a BANK remittance names toBankName and toBankAccountNumber and no toMembershipId")
        return self


class Remittance(CamelModel):
    remittance_request_id: str
    from_membership_id: str
    to_membership_id: str | None
    to_bank_name: str | None
    to_bank_account_number: str | None
    remittance_type: RemittanceType
    amount: int
    recharged_amount: int = Field(description="What was charged from the sender's bank account into its wallet first")
    status: RemittanceStatus
    reason: str | None
    business_day: date
    created_at: datetime
    updated_at: datetime
    status_url: str


class RemittanceHistory(CamelModel):
    membership_id: str
    items: list[Remittance]
    next_cursor: str | None = Field(description="Pass it back as `cursor` for the next page; null on the last")


class MoneyTransferring(CamelModel):
    """A remittance with what it caused: its ledger transactions in money and its payout at banking."""

    remittance: Remittance
    money_changing_requests: list[MoneyChangingRequest]
    firmbanking_requests: list[FirmbankingRequest]


class RemittanceSummary(CamelModel):
    model_config = ConfigDict(extra="ignore")

    unfinished_sagas: int


class RemittanceEnded(Message):
    remittance_request_id: str
    from_membership_id: str
    to_membership_id: str | None = Field(description="The receiving member of a MEMBERSHIP remittance")
    to_bank_name: str | None
    to_bank_account_number: str | None
    remittance_type: RemittanceType
    amount: int
    recharged_amount: int


class RemittanceSucceeded(RemittanceEnded):
    """The amount reached the receiving member's wallet or the target bank account."""

    subject = "pay.events.remittance.succeeded.v1"


class RemittanceFailed(RemittanceEnded):
    """Nothing was sent, for `reason`; a recharge made for it stays in the sender's wallet."""

    subject = "pay.events.remittance.failed.v1"

    reason: str
