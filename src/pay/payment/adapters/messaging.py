"""Payment on the broker: sends its sagas' commands to money and banking, hears their answers, and says how
payments and refunds ended."""

from functools import partial

from pay.contracts.banking import RequestFirmbanking
from pay.contracts.messages import Message
from pay.contracts.money import (
    CreditPayable,
    PayFromWallet,
    RechargeWallet,
    RefundFromPayable,
    RefundToWallet,
)
from pay.contracts.payment import PaymentApproved, PaymentFailed, RefundFailed, RefundSucceeded
from pay.payment.adapters.views import payment_view, refund_view
from pay.payment.application import use_cases
from pay.payment.application.use_cases import Dependencies
from pay.payment.domain.model import PaymentEnded, PaymentEvent, PaymentStatus, RefundStatus
from pay.payment.domain.saga import FirmBankingRequested, LedgerCommandSent, LedgerKind, SagaEvent
from pay.platform.answers import hear_ledger_answers, hear_transfer_answers
from pay.platform.broker import Broker


def to_message(event: SagaEvent) -> Message:
    if isinstance(event, FirmBankingRequested):
        return RequestFirmbanking(
            correlation_id=event.saga_id,
            transfer_id=event.transfer_id,
            from_bank_name=event.source.bank_name,
            from_bank_account_number=event.source.account_number,
            to_bank_name=event.target.bank_name,
            to_bank_account_number=event.target.account_number,
            money_amount=event.amount,
        )
    return _ledger_command(event)


def _ledger_command(event: LedgerCommandSent) -> Message:
    common = {"correlation_id": event.saga_id, "ledger_transaction_id": event.transaction_id}
    match event.kind:
        case LedgerKind.RECHARGE:
            assert event.membership_id is not None
            return RechargeWallet(**common, membership_id=event.membership_id, amount=event.amount)
        case LedgerKind.PAY:
            assert event.membership_id is not None
            return PayFromWallet(
                **common, membership_id=event.membership_id, franchise_id=event.franchise_id, amount=event.amount
            )
        case LedgerKind.CREDIT:
            assert event.bank_transfer_id is not None
            return CreditPayable(
                **common, franchise_id=event.franchise_id, amount=event.amount, bank_transfer_id=event.bank_transfer_id
            )
        case LedgerKind.REFUND:
            assert event.membership_id is not None
            return RefundToWallet(
                **common, franchise_id=event.franchise_id, membership_id=event.membership_id, amount=event.amount
            )
        case LedgerKind.PAYABLE:
            assert event.bank_transfer_id is not None
            return RefundFromPayable(
                **common, franchise_id=event.franchise_id, amount=event.amount, bank_transfer_id=event.bank_transfer_id
            )


def outcome_message(event: PaymentEvent) -> Message:
    """How a payment or a refund ended, for notifications and merchant webhooks."""
    if isinstance(event, PaymentEnded):
        approved = event.payment.status is not PaymentStatus.FAILED
        event_type = PaymentApproved if approved else PaymentFailed
        return event_type(correlation_id=event.payment.payment_id, payment=payment_view(event.payment))
    refund_type = RefundSucceeded if event.refund.status is RefundStatus.SUCCEEDED else RefundFailed
    return refund_type(
        correlation_id=event.refund.payment_id, refund=refund_view(event.refund), payer_membership_id=event.payer
    )


def subscribe(broker: Broker, deps: Dependencies) -> None:
    hear_ledger_answers(broker, partial(use_cases.ledger_answered, deps))
    hear_transfer_answers(broker, partial(use_cases.transfer_answered, deps))
