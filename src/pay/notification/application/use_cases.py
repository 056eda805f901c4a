"""The notification operations, one function each: record what events tell members (once each), read a feed,
follow it, and issue and redeem stream tickets."""

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from pay.notification.application.ports import Alerts, Announcer, Clock, UnitOfWork
from pay.notification.domain.model import (
    Entry,
    FranchiseOwner,
    Notice,
    OwnerUnknown,
    Ticket,
    TicketRefused,
    Told,
    newer_owner,
    numbered,
)

# The inbox's name for the feed: whatever the event, its id is recorded once.
CONSUMER = "notification-feed"
_TICKET_BYTES = 32


@dataclass(frozen=True)
class Dependencies:
    uow: Callable[[], UnitOfWork]
    announcer: Announcer
    alerts: Alerts
    clock: Clock
    retention: timedelta
    ticket_lifetime: timedelta


@dataclass(frozen=True)
class Delivery:
    message_id: str
    told: Told


async def record(deps: Dependencies, deliveries: Sequence[Delivery]) -> list[bool | Exception]:
    """Store the notices of a group of delivered events in one transaction, each event's once whatever the number
    of its deliveries, and alert the operators of the failures among them once it is committed.

    For each delivery in order: whether it was recorded now (False for one recorded before), or `OwnerUnknown`
    for a franchise's event whose franchise is not known yet (it is not recorded: its next delivery tries again).
    """
    now = deps.clock()
    async with deps.uow() as uow:
        franchise_ids = {
            n.franchise_id for d in deliveries for n in d.told.notices if n.recipient is None and n.franchise_id
        }
        owners = await uow.franchises.owners(franchise_ids) if franchise_ids else {}
        unknown = {franchise_id for franchise_id in franchise_ids if franchise_id not in owners}
        ready = [d for d in deliveries if not any(_waits_for(n, unknown) for n in d.told.notices)]
        first = await uow.inbox.first_deliveries(CONSUMER, [d.message_id for d in ready]) if ready else set()
        # Two copies of one message may be in the same group: only the first copy counts.
        recording: dict[str, Delivery] = {}
        for delivery in ready:
            if delivery.message_id in first:
                recording.setdefault(delivery.message_id, delivery)
        notices = [
            notice if notice.recipient is not None else notice.to(owners[notice.franchise_id or ""].owner_membership_id)
            for delivery in recording.values()
            for notice in delivery.told.notices
        ]
        entries = []
        if notices:
            last = await uow.feed.last_seqs({notice.recipient for notice in notices if notice.recipient is not None})
            entries = numbered(notices, last, now)
            await uow.feed.add(entries, now - deps.retention)
        await uow.commit()
    deps.announcer.recorded(entries)
    for delivery in recording.values():
        if delivery.told.alert is not None:
            deps.alerts.tell(delivery.told.alert)
    waiting = {id(delivery) for delivery in deliveries} - {id(delivery) for delivery in ready}
    recorded = {id(delivery) for delivery in recording.values()}
    return [
        OwnerUnknown(", ".join(sorted(unknown))) if id(delivery) in waiting else id(delivery) in recorded
        for delivery in deliveries
    ]


def _waits_for(notice: Notice, unknown: set[str]) -> bool:
    return notice.recipient is None and notice.franchise_id in unknown


async def franchise_known(deps: Dependencies, owner: FranchiseOwner) -> None:
    async with deps.uow() as uow:
        known = await uow.franchises.owners([owner.franchise_id])
        if newer_owner(known.get(owner.franchise_id), owner):
            await uow.franchises.keep(owner)
            await uow.commit()


async def feed_page(deps: Dependencies, recipient: str, before: int | None, limit: int) -> list[Entry]:
    """Up to `limit + 1` entries before the cursor, newest first (the extra one tells that a page follows)."""
    async with deps.uow() as uow:
        return await uow.feed.before(recipient, before, limit + 1)


async def entries_after(deps: Dependencies, recipient: str, seq: int, limit: int) -> list[Entry]:
    async with deps.uow() as uow:
        return await uow.feed.after(recipient, seq, limit)


async def last_seq(deps: Dependencies, recipient: str) -> int:
    async with deps.uow() as uow:
        return await uow.feed.last_seq(recipient)


async def issue_ticket(deps: Dependencies, subject: str, role: str) -> tuple[str, Ticket]:
    """A new ticket for the caller, and the token that names it; only the token's digest is stored."""
    now = deps.clock()
    token = secrets.token_urlsafe(_TICKET_BYTES)
    ticket = Ticket.issue(subject, role, now, deps.ticket_lifetime)
    async with deps.uow() as uow:
        await uow.tickets.add(_digest(token), ticket, now)
        await uow.commit()
    return token, ticket


async def redeem_ticket(deps: Dependencies, token: str) -> Ticket:
    """The ticket the token names, used up; `TicketRefused` if forged, expired or used before."""
    async with deps.uow() as uow:
        ticket = await uow.tickets.use(_digest(token), deps.clock())
        await uow.commit()
    if ticket is None:
        raise TicketRefused()
    return ticket


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
