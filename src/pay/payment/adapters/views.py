"""A payment and a refund as the public API shows them: in answers, and in the events that say how they ended."""

from decimal import Decimal

from pay.contracts import payment as api
from pay.payment.domain import model

# Where a payment and its refunds are read (`/payment/...`), for their status URLs.
PATH_PREFIX = "/payment"


def _rate(rate: Decimal) -> str:
    return format(rate.normalize(), "f")


def payment_view(found: model.Payment) -> api.Payment:
    return api.Payment(
        payment_id=found.payment_id,
        request_membership_id=found.payer,
        franchise_id=found.franchise_id,
        request_price=found.price,
        method=api.PaymentMethod(found.method.value),
        fee_rate=_rate(found.fee_rate),
        fee=found.fee,
        refunded_amount=found.refunded_amount,
        status=api.PaymentStatus(found.status.value),
        reason=found.reason,
        approved_at=found.approved_at,
        settled_at=found.settled_at,
        settlement_id=found.settlement_id,
        order_id=found.order_id,
        created_at=found.created_at,
        updated_at=found.updated_at,
        status_url=f"{PATH_PREFIX}/{found.payment_id}",
    )


def refund_view(found: model.Refund) -> api.Refund:
    return api.Refund(
        refund_id=found.refund_id,
        payment_id=found.payment_id,
        franchise_id=found.franchise_id,
        amount=found.amount,
        status=api.RefundStatus(found.status.value),
        reason=found.reason,
        after_settlement=found.after_settlement,
        deducted_by_settlement_id=found.deducted_by,
        created_at=found.created_at,
        updated_at=found.updated_at,
        status_url=f"{PATH_PREFIX}/{found.payment_id}/refunds/{found.refund_id}",
    )
