"""Franchise's events on the broker: domain events become versioned contract messages, for the services that
keep what they need of a franchise (settlement its account); and the payment, refund and settlement events it
hears, which become deliveries to the franchise's webhook."""

from typing import Any

import orjson

from pay.contracts.franchise import FranchiseModified, FranchiseRegistered
from pay.contracts.messages import Message
from pay.contracts.payment import PaymentApproved, PaymentFailed, RefundFailed, RefundSucceeded
from pay.contracts.settlement import SettlementLineFailed, SettlementLinePaid
from pay.franchise.application import webhooks
from pay.franchise.application.webhooks import WebhookDependencies, WebhookEvent
from pay.franchise.domain import model
from pay.platform.broker import Broker


def to_message(event: model.FranchiseEvent) -> Message:
    match event:
        case model.FranchiseRegistered():
            return FranchiseRegistered(**_state(event.franchise))
        case model.FranchiseModified():
            return FranchiseModified(**_state(event.franchise))


def _state(franchise: model.Franchise) -> dict[str, Any]:
    return {
        "franchise_id": franchise.franchise_id,
        "owner_membership_id": franchise.owner_membership_id,
        "name": franchise.name,
        "bank_name": franchise.settlement_account.bank_name,
        "bank_account_number": franchise.settlement_account.account_number,
        "fee_rate": franchise.fee_rate,
        "fee_rate_since": franchise.fee_rate_since,
        "webhook_url": franchise.webhook_url,
        "is_valid": franchise.is_valid,
    }


# What a receiver is told each event is, by the contract message it comes from.
WEBHOOK_EVENT_TYPES: dict[type[Message], str] = {
    PaymentApproved: "payment.approved",
    PaymentFailed: "payment.failed",
    RefundSucceeded: "refund.succeeded",
    RefundFailed: "refund.failed",
    SettlementLinePaid: "settlement.line-paid",
    SettlementLineFailed: "settlement.line-failed",
}
_ENVELOPE = {"messageId", "occurredAt", "correlationId"}


def webhook_event(message: Message) -> WebhookEvent:
    """The event as its receiver gets it: `{"id", "type", "occurredAt", "data"}`, `data` being the event's own
    fields (a payment, a refund with its payer, or a settlement line with its settlement's id)."""
    event_type = WEBHOOK_EVENT_TYPES[type(message)]
    payload = message.to_payload()
    body = {
        "id": message.message_id,
        "type": event_type,
        "occurredAt": payload["occurredAt"],
        "data": {name: value for name, value in payload.items() if name not in _ENVELOPE},
    }
    return WebhookEvent(message.message_id, event_type, _franchise_of(message), orjson.dumps(body))


def _franchise_of(message: Message) -> str:
    match message:
        case PaymentApproved() | PaymentFailed():
            return message.payment.franchise_id
        case RefundSucceeded() | RefundFailed():
            return message.refund.franchise_id
        case SettlementLinePaid() | SettlementLineFailed():
            return message.line.franchise_id
    raise ValueError(f"no webhook event is made of {type(message).__name__}")


def subscribe(broker: Broker, deps: WebhookDependencies) -> None:
    """Every payment, refund and settlement outcome becomes a delivery for its franchise's webhook."""

    async def on_event(message: Message) -> None:
        await webhooks.event_happened(deps, webhook_event(message))

    for message_type in WEBHOOK_EVENT_TYPES:
        broker.subscribe(message_type, on_event, consumer=f"webhook-{message_type.__name__}")
