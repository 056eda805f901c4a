"""Money-query on the broker: hears wallet changes from money and registrations and moves from membership,
live through its durable consumers, or all over again from the stream for a rebuild."""

from collections.abc import AsyncIterator
from functools import partial

from prometheus_client import Gauge, Histogram

from pay.contracts.membership import MembershipModified, MembershipRegistered
from pay.contracts.money import WalletChanged
from pay.money_query.application import use_cases
from pay.money_query.application.ports import EventReplay
from pay.money_query.application.use_cases import Delivery, Dependencies
from pay.money_query.domain.projection import AddressChange, MoneyEvent, ProjectionStatus, WalletChange
from pay.platform.batching import Batcher
from pay.platform.broker import Broker

LAG = Gauge(
    "pay_money_query_lag_seconds", "How long after it happened the latest event the read model applied was applied"
)
EVENTS_APPLIED = Gauge("pay_money_query_events_applied", "Events the read model applied, each once")
# Every applied event, not only the latest as LAG: `pay bench query` reads its quantiles under load.
EVENT_TO_VISIBLE = Histogram(
    "pay_money_query_event_to_visible_seconds",
    "From when an event happened to when the read model's answers show it (its transaction committed)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60),
)

EventMessage = WalletChanged | MembershipRegistered | MembershipModified
_SUBSCRIBED: tuple[type[EventMessage], ...] = (WalletChanged, MembershipRegistered, MembershipModified)


def to_event(message: EventMessage) -> MoneyEvent:
    match message:
        case WalletChanged():
            return WalletChange(message.membership_id, message.balance, message.version, message.changed_at)
        case MembershipRegistered():
            return AddressChange(message.membership_id, message.address, message.occurred_at)
        case MembershipModified():
            return AddressChange(message.membership_id, message.new_address, message.occurred_at)


def export(status: ProjectionStatus) -> None:
    LAG.set(status.lag_seconds)
    EVENTS_APPLIED.set(status.events_applied)


def subscribe(broker: Broker, deps: Dependencies) -> None:
    # Events delivered while a group is being applied are applied together next, in one transaction.
    applying: Batcher[Delivery, ProjectionStatus | None] = Batcher(partial(use_cases.apply_events, deps))

    async def on_event(message: EventMessage) -> None:
        event = to_event(message)
        status = await applying.submit(Delivery(message.message_id, event))
        if status is not None:
            # Read after the commit: from then on the region's sum includes the event.
            EVENT_TO_VISIBLE.observe(max((deps.clock() - event.occurred_at).total_seconds(), 0.0))
            export(status)

    for message_type in _SUBSCRIBED:
        broker.subscribe(message_type, on_event)


def replay_from(broker: Broker) -> EventReplay:
    async def replay() -> AsyncIterator[MoneyEvent]:
        for message_type in _SUBSCRIBED:
            async for message in broker.replay(message_type):
                yield to_event(message)

    return replay
