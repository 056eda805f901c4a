"""The relay that moves committed outbox rows onto the broker.

At-least-once: a row is marked published only after the broker acknowledged it, so a crash between
the two publishes it again; the message id travels as the broker's de-duplication id and consumers'
inboxes drop what they have already applied. Each message leaves on the trace kept with its row, that of
the request or handler that wrote it, not on the relay's.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncEngine

from pay.platform.db import outbox, utcnow
from pay.platform.watch import wait_at_most

# Subject, payload, message id and the trace context the message was written under.
Publish = Callable[[str, dict[str, Any], str, Mapping[str, str] | None], Awaitable[None]]

_log = structlog.get_logger()
_CLEANUP_INTERVAL_SECONDS = 600.0
# The backlog is counted at most this often: through the index of unpublished rows, so it costs little.
_BACKLOG_INTERVAL_SECONDS = 5.0

PENDING = Gauge("pay_outbox_pending_messages", "Committed messages the relay has not yet published", ["service"])
OLDEST_PENDING = Gauge(
    "pay_outbox_oldest_pending_age_seconds", "How long the oldest unpublished message has waited", ["service"]
)


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        publish: Publish,
        service: str,
        *,
        batch_size: int = 200,
        idle_poll_seconds: float = 1.0,
        keep_published: timedelta = timedelta(days=1),
    ) -> None:
        self._engine = engine
        self._publish = publish
        self._batch_size = batch_size
        self._idle_poll_seconds = idle_poll_seconds
        self._keep_published = keep_published
        self._wake = asyncio.Event()
        self._next_cleanup = 0.0
        self._next_backlog = 0.0
        self._pending = PENDING.labels(service)
        self._oldest_pending = OLDEST_PENDING.labels(service)

    def wake(self) -> None:
        """Called after a commit that wrote to the outbox, so messages leave without waiting for the poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            # Cleared before reading, not after: a commit that wakes the relay while it publishes is then read
            # at once by the next round, instead of waiting for the poll.
            self._wake.clear()
            try:
                while await self.publish_pending() == self._batch_size:
                    pass
                if asyncio.get_running_loop().time() >= self._next_cleanup:
                    await self._forget_published()
                    self._next_cleanup = asyncio.get_running_loop().time() + _CLEANUP_INTERVAL_SECONDS
                if asyncio.get_running_loop().time() >= self._next_backlog:
                    await self.measure_backlog()
                    self._next_backlog = asyncio.get_running_loop().time() + _BACKLOG_INTERVAL_SECONDS
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("outbox_relay_failed")
            await wait_at_most(self._wake, self._idle_poll_seconds)

    async def publish_pending(self) -> int:
        async with self._engine.begin() as connection:
            rows = (
                await connection.execute(
                    sa.select(outbox.c.id, outbox.c.subject, outbox.c.payload, outbox.c.trace_context)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.position)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            # All at once, each waiting for its own acknowledgement: one after the other, every message waited
            # for the round trips of those before it through a busy event loop.
            outcomes = await asyncio.gather(
                *(self._publish(row.subject, row.payload, str(row.id), row.trace_context) for row in rows),
                return_exceptions=True,
            )
            published = [row.id for row, outcome in zip(rows, outcomes, strict=True) if outcome is None]
            if published:
                await connection.execute(
                    outbox.update().where(outbox.c.id.in_(published)).values(published_at=utcnow())
                )
        # The acknowledged ones are marked published; the others stay pending and go again next round.
        failed = next((outcome for outcome in outcomes if isinstance(outcome, BaseException)), None)
        if failed is not None:
            raise failed
        return len(rows)

    async def measure_backlog(self) -> None:
        async with self._engine.connect() as connection:
            count, oldest = (
                await connection.execute(
                    sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
                )
            ).one()
        self._pending.set(count)
        self._oldest_pending.set((utcnow() - oldest).total_seconds() if oldest is not None else 0)

    async def _forget_published(self) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(outbox.delete().where(outbox.c.published_at < utcnow() - self._keep_published))
