"""Payment's public API models (SPEC "Payment")."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from pay.contracts.messages import CamelModel, Message
from pay.contracts.types import URL_SEGMENT, Amount, Identifier, Instant

# A merchant's own reference for the order a payment pays: shown back, never interpreted.
OrderId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=URL_SEGMENT)]


class PaymentMethod(StrEnum):
    WALLET = "WALLET"
    BANK = "BANK"


class PaymentStatus(StrEnum):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    SETTLING = "SETTLING"
    SETTLED = "SETTLED"


class RefundStatus(StrEnum):
    REQUESTED = "REQUESTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class PaymentRequestBody(CamelModel):
    request_membership_id: Identifier
    franchise_id: Identifier
    request_price: Amount
    method: PaymentMethod = PaymentMethod.WALLET
    order_id: OrderId | None = None


class CancelPaymentBody(CamelModel):
    amount: Amount | None = Field(default=None, description="Won to refund; all that is left to refund when absent")


class Payment(CamelModel):
    model_config = ConfigDict(extra="ignore")

    payment_id: str
    request_membership_id: str
    franchise_id: str
    request_price: int
    method: PaymentMethod
    fee_rate: str = Field(description='The franchise\'s rate when the payment was made, decimal percent ("3.5")')
    fee: int = Field(description="(requestPrice − refundedAmount) × feeRate / 100, rounded half-up to the won")
    refunded_amount: int = Field(description="What succeeded refunds gave back")
    status: PaymentStatus
    reason: str | None
    approved_at: datetime | None
    settled_at: datetime | None
    settlement_id: str | None
    order_id: str | None
    created_at: datetime
    updated_at: datetime
    status_url: str


class Refund(CamelModel):
    model_config = ConfigDict(extra="ignore")

    refund_id: str
    payment_id: str
    franchise_id: str
    amount: int
    status: RefundStatus
    reason: str | None
    after_settlement: bool = Field(
        description="Made after the payment's settlement counted it: the franchise owes it, a later settlement "
        "deducts it"
    )
    deducted_by_settlement_id: str | None = Field(description="The settlement that deducted it, if one did")
    created_at: datetime
    updated_at: datetime
    status_url: str


class PaymentPage(CamelModel):
    model_config = ConfigDict(extra="ignore")

    items: list[Payment]
    next_cursor: str | None = Field(description="Pass it back as `cursor` for the next page; null on the last")


class RefundPage(CamelModel):
    model_config = ConfigDict(extra="ignore")

    items: list[Refund]
    next_cursor: str | None = Field(description="Pass it back as `cursor` for the next page; null on the last")


class ClaimStatus(StrEnum):
    CLAIMED = "CLAIMED"
    SETTLED = "SETTLED"
    RELEASED = "RELEASED"


class SettlementClaimBody(CamelModel):
    settlement_id: Identifier
    since: Instant = Field(description="Payments approved at or after this instant…")
    until: Instant = Field(description="…and before this one")


class FranchiseClaim(CamelModel):
    """What a settlement claimed of one franchise, and where its line stands at payment."""

    model_config = ConfigDict(extra="ignore")

    settlement_id: str
    franchise_id: str
    gross: int = Field(description="Σ (requestPrice − refundedAmount) of the claimed payments")
    fee: int = Field(description="Σ fee of the claimed payments")
    payment_count: int
    owed: int = Field(description="Σ refunds the franchise owed from payments settled earlier, claimed with them")
    status: ClaimStatus


class SettlementClaim(CamelModel):
    model_config = ConfigDict(extra="ignore")

    settlement_id: str
    franchises: list[FranchiseClaim] = Field(description="One per franchise with a payment claimed, by franchise id")


class SettlementLineBody(CamelModel):
    settlement_id: Identifier
    franchise_id: Identifier


class PaymentSummary(CamelModel):
    model_config = ConfigDict(extra="ignore")

    unfinished_sagas: int


class PaymentApproved(Message):
    """The payment took the money: from the payer's wallet, or from its bank account, to the franchise's payable."""

    subject = "pay.events.payment.approved.v1"

    payment: Payment


class PaymentFailed(Message):
    """The payment moved nothing; `payment.reason` says why (the bank's own words for a BANK payment)."""

    subject = "pay.events.payment.failed.v1"

    payment: Payment


class RefundSucceeded(Message):
    """The refund gave `refund.amount` back to the payer (`payerMembershipId`)."""

    subject = "pay.events.payment.refund-succeeded.v1"

    refund: Refund
    payer_membership_id: str


class RefundFailed(Message):
    """The refund moved nothing; `refund.reason` says why."""

    subject = "pay.events.payment.refund-failed.v1"

    refund: Refund
    payer_membership_id: str
