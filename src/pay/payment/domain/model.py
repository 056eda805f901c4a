"""A payment at a franchise, its refunds and its fee: the rules, in plain Python."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import StrEnum

# A shortfall in the payer's wallet is recharged in whole steps of this many won (SPEC "Payment").
RECHARGE_STEP = 10_000
# Enough digits for any amount (up to 10^12 won) times any rate, so that nothing is rounded before the won.
_EXACT = Context(prec=50)


class PaymentMethod(StrEnum):
    WALLET = "WALLET"
    BANK = "BANK"


class PaymentStatus(StrEnum):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    # Claimed by a settlement whose line has not finished: no refund may take from the payable meanwhile.
    SETTLING = "SETTLING"
    SETTLED = "SETTLED"


class RefundStatus(StrEnum):
    REQUESTED = "REQUESTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class PaymentNotFound(Exception):
    pass


class RefundNotFound(Exception):
    pass


class PayerNotFound(Exception):
    pass


class PayerInvalid(Exception):
    pass


class FranchiseNotFound(Exception):
    pass


class FranchiseInvalid(Exception):
    pass


class NoLinkedAccount(Exception):
    """A BANK payment needs the payer's linked bank account, and it has none that may be used."""


class RefundExceedsPayment(Exception):
    """More would be refunded (with the refunds under way) than the payment's price."""


class PaymentNotApproved(Exception):
    """The payment is still being made: there is nothing to refund yet."""


class PaymentFailed(Exception):
    """The payment failed: no money moved, so there is nothing to refund."""


class PaymentBeingSettled(Exception):
    """A settlement has claimed the payment and is paying the franchise for it: a refund now would take from the
    payable the payout is being settled against. Once the line has finished (or given the payment back) it may be
    refunded."""


class SettlementLineNotFound(Exception):
    """The settlement claimed nothing of that franchise."""


class SettlementLineReleased(Exception):
    """The settlement gave the franchise's payments back: it can no longer settle them."""


class SettlementLineSettled(Exception):
    """The franchise's payments are settled by that settlement: they can no longer be given back."""


@dataclass(frozen=True)
class BankAccount:
    bank_name: str
    account_number: str


def fee_for(amount: int, rate: Decimal) -> int:
    """`amount` × `rate` / 100 (rate in percent), rounded half-up to the won: Decimal throughout, never a float."""
    exact = _EXACT.divide(_EXACT.multiply(Decimal(amount), rate), Decimal(100))
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP, context=_EXACT))


def recharge_for(amount: int, available: int) -> int:
    """What to charge into the wallet before paying `amount` from `available`: nothing if it suffices, else the
    shortfall rounded up to the next whole `RECHARGE_STEP`."""
    shortfall = amount - available
    if shortfall <= 0:
        return 0
    return -(-shortfall // RECHARGE_STEP) * RECHARGE_STEP


@dataclass
class Refund:
    refund_id: str
    payment_id: str
    franchise_id: str
    amount: int
    status: RefundStatus
    after_settlement: bool
    created_at: datetime
    updated_at: datetime
    reason: str | None = None
    deducted_by: str | None = None

    @property
    def is_final(self) -> bool:
        return self.status is not RefundStatus.REQUESTED

    def end(self, failure: str | None, now: datetime) -> None:
        if self.is_final:
            raise ValueError(f"refund {self.refund_id} already ended {self.status}")
        self.status = RefundStatus.SUCCEEDED if failure is None else RefundStatus.FAILED
        self.reason, self.updated_at = failure, now


@dataclass(frozen=True)
class PaymentEnded:
    """The payment's saga ended: `payment` as it ended, APPROVED or FAILED (with its reason)."""

    payment: Payment


@dataclass(frozen=True)
class RefundEnded:
    """A refund of the payment ended, SUCCEEDED or FAILED; `payer` is whom it gave back to."""

    refund: Refund
    payer: str


PaymentEvent = PaymentEnded | RefundEnded


@dataclass
class Payment:
    payment_id: str
    payer: str
    franchise_id: str
    price: int
    method: PaymentMethod
    fee_rate: Decimal
    status: PaymentStatus
    created_at: datetime
    updated_at: datetime
    order_id: str | None = None
    # The payer's linked bank account a BANK payment is charged from and refunded to.
    payer_account: BankAccount | None = None
    refunded_amount: int = 0
    # Refunds under way: counted as if given back already, so that refunds together never pass the price.
    reserved_amount: int = 0
    reason: str | None = None
    approved_at: datetime | None = None
    settled_at: datetime | None = None
    settlement_id: str | None = None
    events: list[PaymentEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def request(
        cls,
        payment_id: str,
        payer: str,
        franchise_id: str,
        price: int,
        method: PaymentMethod,
        fee_rate: Decimal,
        now: datetime,
        *,
        order_id: str | None = None,
        payer_account: BankAccount | None = None,
    ) -> Payment:
        if method is PaymentMethod.BANK and payer_account is None:
            raise NoLinkedAccount(payer)
        return cls(
            payment_id=payment_id,
            payer=payer,
            franchise_id=franchise_id,
            price=price,
            method=method,
            fee_rate=fee_rate,
            status=PaymentStatus.REQUESTED,
            created_at=now,
            updated_at=now,
            order_id=order_id,
            payer_account=payer_account,
        )

    @property
    def fee(self) -> int:
        return fee_for(self.price - self.refunded_amount, self.fee_rate)

    @property
    def is_final(self) -> bool:
        """Made or failed: the payment saga has ended."""
        return self.status is not PaymentStatus.REQUESTED

    @property
    def refundable(self) -> int:
        """What a new refund may still give back."""
        return self.price - self.refunded_amount - self.reserved_amount

    def end(self, failure: str | None, now: datetime) -> None:
        """The payment saga ended: APPROVED without a failure, FAILED with one."""
        if self.is_final:
            raise ValueError(f"payment {self.payment_id} already ended {self.status}")
        if failure is None:
            self.status, self.approved_at = PaymentStatus.APPROVED, now
        else:
            self.status, self.reason = PaymentStatus.FAILED, failure
        self.updated_at = now
        self.events.append(PaymentEnded(replace(self, events=[])))

    def start_refund(self, refund_id: str, amount: int | None, now: datetime) -> Refund:
        """Reserve `amount` (all that is left when None) for a new refund. A refund of a settled payment is owed
        by the franchise, and a later settlement deducts it."""
        match self.status:
            case PaymentStatus.REQUESTED:
                raise PaymentNotApproved(self.payment_id)
            case PaymentStatus.FAILED:
                raise PaymentFailed(self.payment_id)
            case PaymentStatus.SETTLING:
                raise PaymentBeingSettled(self.payment_id)
        wanted = self.refundable if amount is None else amount
        if wanted <= 0 or wanted > self.refundable:
            raise RefundExceedsPayment(
                f"{self.refundable} won of {self.price} may still be refunded"
                f" ({self.refunded_amount} refunded, {self.reserved_amount} under way)"
            )
        self.reserved_amount += wanted
        self.updated_at = now
        return Refund(
            refund_id=refund_id,
            payment_id=self.payment_id,
            franchise_id=self.franchise_id,
            amount=wanted,
            status=RefundStatus.REQUESTED,
            after_settlement=self.status is PaymentStatus.SETTLED,
            created_at=now,
            updated_at=now,
        )

    def refund_ended(self, refund: Refund, now: datetime) -> None:
        """A refund of this payment ended: succeeded, it is given back (all of it: CANCELLED); failed, its amount
        is no longer reserved."""
        if refund.payment_id != self.payment_id or not refund.is_final:
            raise ValueError(f"refund {refund.refund_id} is not an ended refund of {self.payment_id}")
        self.reserved_amount -= refund.amount
        if refund.status is RefundStatus.SUCCEEDED:
            self.refunded_amount += refund.amount
            if self.refunded_amount == self.price:
                self.status = PaymentStatus.CANCELLED
        self.updated_at = now
        self.events.append(RefundEnded(replace(refund), self.payer))


class ClaimStatus(StrEnum):
    CLAIMED = "CLAIMED"
    SETTLED = "SETTLED"
    RELEASED = "RELEASED"


@dataclass
class FranchiseClaim:
    """What one settlement claimed of one franchise: its payments approved in the period that were APPROVED, not
    settled and with no refund under way (now SETTLING), and the refunds it owed from payments settled earlier.

        gross = Σ (price − refunded), fee = Σ fee of those payments; owed = Σ those refunds

    The settlement's line then finishes it (the payments become SETTLED, the refunds deducted) or releases it (they
    are as they were, for a later settlement), once."""

    settlement_id: str
    franchise_id: str
    gross: int
    fee: int
    payment_count: int
    owed: int
    status: ClaimStatus = ClaimStatus.CLAIMED

    def finish(self) -> bool:
        """Whether the payments are to be marked SETTLED now (False: they already are)."""
        if self.status is ClaimStatus.RELEASED:
            raise SettlementLineReleased(f"{self.settlement_id} gave back the payments of {self.franchise_id}")
        changed = self.status is ClaimStatus.CLAIMED
        self.status = ClaimStatus.SETTLED
        return changed

    def release(self) -> bool:
        """Whether the payments and refunds are to be given back now (False: they already are)."""
        if self.status is ClaimStatus.SETTLED:
            raise SettlementLineSettled(f"{self.settlement_id} settled the payments of {self.franchise_id}")
        changed = self.status is ClaimStatus.CLAIMED
        self.status = ClaimStatus.RELEASED
        return changed


class PeriodReversed(Exception):
    """A period whose start comes after its end."""


def ensure_period(start: datetime, end: datetime) -> None:
    if start > end:
        raise PeriodReversed(f"from {start.isoformat()} is after to {end.isoformat()}")
