"""Merchant webhooks: a delivery for each payment, refund or settlement event of a franchise with a webhook URL,
sent signed by the saga runtime's timer and tried again with the retry policy's backoff for a day; the delivery
log, redelivery and the rotation of the signing secret.

`acting_member` is the member calling for itself, who may reach only its own franchises' webhooks (403
otherwise); None for an admin or a service.
"""

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog

from pay.franchise.application.ports import DeliveryPage, Sent, WebhookSender
from pay.franchise.application.use_cases import Dependencies
from pay.franchise.domain.model import Franchise, FranchiseNotFound
from pay.franchise.domain.webhooks import (
    Attempt,
    Backoff,
    Delivery,
    DeliveryNotFound,
    SendCall,
    new_secret,
    signature,
)

_log = structlog.get_logger()

# The consumer name of franchise's inbox for the events it makes deliveries of.
EVENTS_CONSUMER = "franchise-webhook-events"


class NotTheOwner(Exception):
    """Only the franchise's owner, or an admin, reaches its webhook deliveries and secret."""


@dataclass(frozen=True)
class WebhookDependencies:
    franchise: Dependencies
    sender: WebhookSender
    retry: Backoff
    # How long a try may take before the timer takes the delivery up again: longer than the sender's timeout.
    lease: timedelta
    wake_timer: Callable[[], None]
    tries: "TriesUnderWay"


@dataclass(frozen=True)
class WebhookEvent:
    """An event a franchise's webhook receives: `body` is what is posted, as it is signed."""

    event_id: str
    event_type: str
    franchise_id: str
    body: bytes


async def event_happened(deps: WebhookDependencies, event: WebhookEvent) -> None:
    """Once per event (the inbox, in the same transaction): a delivery, due at once, if the franchise has a
    webhook URL."""
    async with deps.franchise.uow() as uow:
        if not await uow.inbox.first_delivery(EVENTS_CONSUMER, event.event_id):
            return
        franchise = await uow.franchises.get(event.franchise_id)
        wanted = franchise is not None and franchise.webhook_url is not None
        if wanted:
            delivery = Delivery.of_event(
                str(uuid.uuid4()),
                event.franchise_id,
                event.event_id,
                event.event_type,
                event.body,
                deps.franchise.clock(),
            )
            await uow.deliveries.add(delivery)
        await uow.commit()
    if wanted:
        deps.wake_timer()


@dataclass(frozen=True)
class Try:
    """A try taken under its lease: what to send, where, signed with what."""

    delivery: Delivery
    call: SendCall
    url: str | None
    secret: str | None


class TriesUnderWay:
    """Tries being sent, at most `limit` at once. The timer hands each try over and goes on to the next due
    delivery, so a slow receiver holds up only its own deliveries; with every slot taken, the timer waits for one."""

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, work: Coroutine[Any, Any, None]) -> None:
        await self._slots.acquire()
        task = asyncio.create_task(self._run(work), name="webhook-try")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception:
            # The lease runs out and the timer tries again.
            _log.exception("webhook_try_failed")
        finally:
            self._slots.release()

    async def stop(self) -> None:
        """Tries cut short are tried again when their lease runs out, by whichever instance runs then."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def advance_delivery(deps: WebhookDependencies, delivery_id: str) -> None:
    """The delivery's time has come: take a lease for a try, and hand the try over to be sent with no lock held."""
    taken = await _take_try(deps, delivery_id)
    if taken is not None:
        await deps.tries.start(_make_try(deps, taken))


async def _take_try(deps: WebhookDependencies, delivery_id: str) -> Try | None:
    clock = deps.franchise.clock
    async with deps.franchise.uow() as uow:
        delivery = await uow.deliveries.lock(delivery_id, skip_locked=True)
        if delivery is None or not delivery.is_due(clock()):
            return None
        call = delivery.send(clock(), deps.lease)
        franchise = await uow.franchises.get(delivery.franchise_id)
        secret = await uow.webhook_secrets.get(delivery.franchise_id)
        await uow.deliveries.save(delivery)
        await uow.commit()
    return Try(delivery, call, franchise.webhook_url if franchise is not None else None, secret)


async def _make_try(deps: WebhookDependencies, taken: Try) -> None:
    """Post the delivery, then record what came of it, if its try still counts."""
    clock, body = deps.franchise.clock, taken.delivery.body
    started = clock()
    if taken.url is None:
        sent = Sent(None, "the franchise has no webhook URL now", 0)
    elif taken.secret is None:
        # Registered before webhooks were signed: the owner rotates a secret in, and the next try is sent.
        sent = Sent(None, "no webhook secret: rotate one in", 0)
    else:
        sent = await deps.sender.send(taken.url, body, signature(taken.secret, int(started.timestamp()), body))
    attempt = Attempt(taken.call.number, started, sent.status_code, sent.error, sent.duration_ms)
    async with deps.franchise.uow() as uow:
        locked = await uow.deliveries.lock(taken.delivery.delivery_id)
        assert locked is not None, f"delivery {taken.delivery.delivery_id} vanished"
        locked.sent(attempt, clock(), deps.retry)
        await uow.deliveries.save(locked)
        await uow.commit()


async def _owned(deps: Dependencies, franchise_id: str, acting_member: str | None) -> Franchise:
    async with deps.uow() as uow:
        franchise = await uow.franchises.get(franchise_id)
    if franchise is None:
        raise FranchiseNotFound(franchise_id)
    if acting_member is not None and not franchise.owned_by(acting_member):
        raise NotTheOwner(franchise_id)
    return franchise


async def deliveries(
    deps: WebhookDependencies, franchise_id: str, acting_member: str | None, after: int | None, limit: int
) -> DeliveryPage:
    await _owned(deps.franchise, franchise_id, acting_member)
    async with deps.franchise.uow() as uow:
        return await uow.deliveries.page(franchise_id, after, limit)


async def redeliver(
    deps: WebhookDependencies, franchise_id: str, delivery_id: str, acting_member: str | None
) -> Delivery:
    """Send the delivery again at once, with a new day of tries, whatever became of it."""
    await _owned(deps.franchise, franchise_id, acting_member)
    async with deps.franchise.uow() as uow:
        delivery = await uow.deliveries.lock(delivery_id)
        if delivery is None or delivery.franchise_id != franchise_id:
            raise DeliveryNotFound(delivery_id)
        delivery.redeliver(deps.franchise.clock())
        await uow.deliveries.save(delivery)
        await uow.commit()
    deps.wake_timer()
    return delivery


async def rotate_secret(deps: Dependencies, franchise_id: str, acting_member: str | None) -> str:
    """A new signing secret in place of the old one, shown this once; deliveries from now on are signed with it."""
    await _owned(deps, franchise_id, acting_member)
    secret = new_secret()
    async with deps.uow() as uow:
        await uow.webhook_secrets.put(franchise_id, secret)
        await uow.commit()
    return secret
