"""Notification on the broker: hears the outcomes that matter to people (money, remittance, payment, settlement)
and who owns each franchise, and says what each outcome tells its members and, for a failure, the operators."""

from functools import partial

from prometheus_client import Histogram

from pay.contracts.franchise import FranchiseModified, FranchiseRegistered
from pay.contracts.messages import Message
from pay.contracts.money import (
    MoneyTransferred,
    RechargeFailed,
    RechargeSucceeded,
    WithdrawalFailed,
    WithdrawalSucceeded,
)
from pay.contracts.payment import PaymentApproved, PaymentFailed, RefundFailed, RefundSucceeded
from pay.contracts.remittance import RemittanceFailed, RemittanceSucceeded, RemittanceType
from pay.contracts.settlement import SettlementLineFailed, SettlementLinePaid
from pay.notification.application import use_cases
from pay.notification.application.use_cases import Delivery, Dependencies
from pay.notification.domain.model import FranchiseOwner, Notice, Told
from pay.platform.batching import Batcher
from pay.platform.broker import Broker

EVENT_TO_FEED = Histogram(
    "pay_notification_event_to_feed_seconds",
    "From when an outcome happened to when its notices were committed to the members' feeds",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60),
)

Outcome = (
    RechargeSucceeded
    | RechargeFailed
    | WithdrawalSucceeded
    | WithdrawalFailed
    | MoneyTransferred
    | RemittanceSucceeded
    | RemittanceFailed
    | PaymentApproved
    | PaymentFailed
    | RefundSucceeded
    | RefundFailed
    | SettlementLinePaid
    | SettlementLineFailed
)
OUTCOMES: tuple[type[Outcome], ...] = (
    RechargeSucceeded,
    RechargeFailed,
    WithdrawalSucceeded,
    WithdrawalFailed,
    MoneyTransferred,
    RemittanceSucceeded,
    RemittanceFailed,
    PaymentApproved,
    PaymentFailed,
    RefundSucceeded,
    RefundFailed,
    SettlementLinePaid,
    SettlementLineFailed,
)


def won(amount: int) -> str:
    return f"{amount:,} won"


def told(message: Outcome) -> Told:
    """What the outcome tells its members, and the operators' alert if it is a failure they watch."""
    match message:
        case RechargeSucceeded():
            return _member(message, message.membership_id, "recharge.succeeded", f"Recharged {won(message.amount)}")
        case RechargeFailed():
            text = f"Recharge of {won(message.amount)} failed: {message.reason}"
            alert = f"Recharge {message.money_changing_request_id} of member {message.membership_id} failed"
            return _member(message, message.membership_id, "recharge.failed", text, alert, message.reason)
        case WithdrawalSucceeded():
            text = f"Withdrew {won(message.amount)} to your bank account"
            return _member(message, message.membership_id, "withdrawal.succeeded", text)
        case WithdrawalFailed():
            text = f"Withdrawal of {won(message.amount)} failed: {message.reason}"
            alert = f"Withdrawal {message.money_changing_request_id} of member {message.membership_id} failed"
            return _member(message, message.membership_id, "withdrawal.failed", text, alert, message.reason)
        case MoneyTransferred():
            text = f"Received {won(message.amount)}"
            data: dict[str, object] = {"fromMembershipId": message.membership_id}
            return Told((_notice(message, message.to_membership_id, "transfer.received", text, data),))
        case RemittanceSucceeded():
            return Told((_notice(message, message.from_membership_id, "remittance.succeeded", _sent(message)),))
        case RemittanceFailed():
            text = f"Remittance of {won(message.amount)} failed: {message.reason}"
            notice = _notice(message, message.from_membership_id, "remittance.failed", text, {"reason": message.reason})
            alert = f"Remittance {message.remittance_request_id} of member {message.from_membership_id} failed"
            return Told((notice,), _alert(alert, message.amount, message.reason))
        case PaymentApproved():
            payment = message.payment
            text = f"Paid {won(payment.request_price)}"
            return Told((_notice(message, payment.request_membership_id, "payment.approved", text, _payment(message)),))
        case PaymentFailed():
            payment = message.payment
            text = f"Payment of {won(payment.request_price)} failed: {payment.reason}"
            notice = _notice(message, payment.request_membership_id, "payment.failed", text, _payment(message))
            alert = f"Payment {payment.payment_id} of member {payment.request_membership_id} failed"
            return Told((notice,), _alert(alert, payment.request_price, payment.reason))
        case RefundSucceeded():
            refund = message.refund
            text = f"Refunded {won(refund.amount)}"
            return Told((_notice(message, message.payer_membership_id, "refund.succeeded", text, _refund(message)),))
        case RefundFailed():
            refund = message.refund
            text = f"Refund of {won(refund.amount)} failed: {refund.reason}"
            return Told((_notice(message, message.payer_membership_id, "refund.failed", text, _refund(message)),))
        case SettlementLinePaid():
            line = message.line
            text = f"Settlement paid {won(line.payout)} (gross {won(line.gross)}, fee {won(line.fee)})"
            return Told((_franchise_notice(message, "settlement.paid", text),))
        case SettlementLineFailed():
            line = message.line
            text = f"Settlement payout of {won(line.payout)} failed: {line.reason}"
            alert = f"Payout of settlement {message.settlement_id} to franchise {line.franchise_id} failed"
            return Told(
                (_franchise_notice(message, "settlement.failed", text),), _alert(alert, line.payout, line.reason)
            )


def _member(
    message: RechargeSucceeded | RechargeFailed | WithdrawalSucceeded | WithdrawalFailed,
    recipient: str,
    kind: str,
    text: str,
    alert: str | None = None,
    reason: str | None = None,
) -> Told:
    data = {"moneyChangingRequestId": message.money_changing_request_id, "amount": message.amount}
    if reason is not None:
        data["reason"] = reason
    notice = Notice(kind, text, data, message.occurred_at, recipient)
    return Told((notice,), None if alert is None else _alert(alert, message.amount, reason))


def _notice(message: Message, recipient: str, kind: str, text: str, data: dict[str, object] | None = None) -> Notice:
    facts = {**_ids(message), **(data or {})}
    return Notice(kind, text, facts, message.occurred_at, recipient)


def _franchise_notice(message: SettlementLinePaid | SettlementLineFailed, kind: str, text: str) -> Notice:
    data = {"settlementId": message.settlement_id, **message.line.model_dump(mode="json", by_alias=True)}
    return Notice(kind, text, data, message.occurred_at, None, message.line.franchise_id)


def _ids(message: Message) -> dict[str, object]:
    match message:
        case MoneyTransferred():
            return {"moneyChangingRequestId": message.money_changing_request_id, "amount": message.amount}
        case RemittanceSucceeded() | RemittanceFailed():
            return {"remittanceRequestId": message.remittance_request_id, "amount": message.amount}
    return {}


def _sent(message: RemittanceSucceeded) -> str:
    if message.remittance_type is RemittanceType.BANK:
        return f"Sent {won(message.amount)} to {message.to_bank_name} {message.to_bank_account_number}"
    return f"Sent {won(message.amount)} to member {message.to_membership_id}"


def _payment(message: PaymentApproved | PaymentFailed) -> dict[str, object]:
    payment = message.payment
    return {
        "paymentId": payment.payment_id,
        "franchiseId": payment.franchise_id,
        "amount": payment.request_price,
        "reason": payment.reason,
    }


def _refund(message: RefundSucceeded | RefundFailed) -> dict[str, object]:
    refund = message.refund
    return {
        "refundId": refund.refund_id,
        "paymentId": refund.payment_id,
        "amount": refund.amount,
        "reason": refund.reason,
    }


def _alert(what: str, amount: int, reason: str | None) -> str:
    return f"{what}: {won(amount)}, {reason or 'no reason given'}"


def subscribe(broker: Broker, deps: Dependencies) -> None:
    # Outcomes delivered while a group is being recorded are recorded together next, in one transaction.
    recording: Batcher[Delivery, bool] = Batcher(partial(use_cases.record, deps))

    async def on_outcome(message: Outcome) -> None:
        if await recording.submit(Delivery(message.message_id, told(message))):
            EVENT_TO_FEED.observe(max((deps.clock() - message.occurred_at).total_seconds(), 0.0))

    async def on_franchise(message: FranchiseRegistered | FranchiseModified) -> None:
        owner = FranchiseOwner(message.franchise_id, message.owner_membership_id, message.occurred_at)
        await use_cases.franchise_known(deps, owner)

    for message_type in OUTCOMES:
        broker.subscribe(message_type, on_outcome)
    broker.subscribe(FranchiseRegistered, on_franchise)
    broker.subscribe(FranchiseModified, on_franchise)
