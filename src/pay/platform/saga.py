"""The saga runtime: persisted state machines that survive crashes.

A saga is one row: its kind, its current step, its data and when it next needs attention
(`wake_at`, the step's timeout or retry time). Services keep the transitions in their domain; this
module keeps the rows and the timer. Every transition happens in one transaction with the effects it
causes (wallet changes, commands in the outbox), under a lock on the saga's row, so a step is never
half-done and never done twice. After a crash the timer finds every saga whose time has come and
resumes it; sagas waiting for an answer are resumed by that answer's message. A step the timer runs
continues the trace of the request or message that started the saga.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
import structlog
from prometheus_client import Gauge
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pay.platform import tracing
from pay.platform.db import utcnow
from pay.platform.watch import wait_at_most

SAGA_METADATA = sa.MetaData()

sagas = sa.Table(
    "sagas",
    SAGA_METADATA,
    sa.Column("saga_id", sa.String(100), primary_key=True),
    sa.Column("kind", sa.String(50), nullable=False),
    sa.Column("step", sa.String(50), nullable=False),
    sa.Column("finished", sa.Boolean, nullable=False),
    sa.Column("data", JSONB, nullable=False),
    sa.Column("wake_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # The headers that carry on the trace (and request id) under which the saga started.
    sa.Column("trace_context", JSONB),
    sa.Index("sagas_due", "wake_at", postgresql_where=sa.text("wake_at IS NOT NULL")),
)

_log = structlog.get_logger()
SagaT = TypeVar("SagaT")

# Sagas waiting for their timer are counted at most this often, through the index of the timer's sagas. A saga
# waiting for an answer with no timeout is not among them: counting all unfinished sagas would read the table.
_MEASURE_INTERVAL_SECONDS = 5.0
SCHEDULED = Gauge(
    "pay_sagas_scheduled", "Sagas waiting for their timer: a retry, a timeout or a next run", ["kind", "step"]
)
OLDEST_SCHEDULED = Gauge(
    "pay_saga_oldest_scheduled_age_seconds",
    "How long ago the oldest saga waiting for its timer began",
    ["kind", "step"],
)


@dataclass
class SagaRecord:
    saga_id: str
    kind: str
    step: str
    finished: bool
    data: dict[str, Any]
    wake_at: datetime | None


class SagaStore:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, record: SagaRecord) -> None:
        now = utcnow()
        await self._connection.execute(
            sagas.insert().values(
                **vars(record), created_at=now, updated_at=now, trace_context=tracing.current_trace_context()
            )
        )

    async def lock(self, saga_id: str, *, skip_locked: bool = False) -> SagaRecord | None:
        """The saga, locked until the transaction ends; with `skip_locked`, None if another holds it."""
        return await self._one(
            sagas.select().where(sagas.c.saga_id == saga_id).with_for_update(skip_locked=skip_locked)
        )

    async def get(self, saga_id: str) -> SagaRecord | None:
        """The saga as it stands, to read only: no lock, so a step under way is not waited for."""
        return await self._one(sagas.select().where(sagas.c.saga_id == saga_id))

    async def _one(self, statement: sa.Select[Any]) -> SagaRecord | None:
        row = (await self._connection.execute(statement)).one_or_none()
        if row is None:
            return None
        return SagaRecord(row.saga_id, row.kind, row.step, row.finished, row.data, row.wake_at)

    async def save(self, record: SagaRecord) -> None:
        await self._connection.execute(
            sagas.update()
            .where(sagas.c.saga_id == record.saga_id)
            .values(
                step=record.step,
                finished=record.finished,
                data=record.data,
                wake_at=record.wake_at,
                updated_at=utcnow(),
            )
        )

    async def count_unfinished(self) -> int:
        statement = sa.select(sa.func.count()).select_from(sagas).where(sagas.c.finished.is_(False))
        return int((await self._connection.execute(statement)).scalar_one())


class SagaRepository(Generic[SagaT]):
    """A service's sagas as rows of `sagas`, translated by the service's `to_record` and `of_record` (None for a
    row of a kind the service does not know).

    Every saga added or saved is kept in `seen`, for the unit of work to send the commands it recorded
    when it commits.
    """

    def __init__(
        self,
        connection: AsyncConnection,
        to_record: Callable[[SagaT], SagaRecord],
        of_record: Callable[[SagaRecord], SagaT | None],
    ) -> None:
        self._store = SagaStore(connection)
        self._to_record = to_record
        self._of_record = of_record
        self.seen: list[SagaT] = []

    async def add(self, saga: SagaT) -> None:
        await self._store.add(self._to_record(saga))
        self.seen.append(saga)

    async def lock(self, saga_id: str, *, skip_locked: bool = False) -> SagaT | None:
        record = await self._store.lock(saga_id, skip_locked=skip_locked)
        return None if record is None else self._of_record(record)

    async def get(self, saga_id: str) -> SagaT | None:
        """To read only: no lock."""
        record = await self._store.get(saga_id)
        return None if record is None else self._of_record(record)

    async def save(self, saga: SagaT) -> None:
        await self._store.save(self._to_record(saga))
        self.seen.append(saga)

    async def count_unfinished(self) -> int:
        return await self._store.count_unfinished()


class SagaTimer:
    """Hands every saga whose `wake_at` has passed to `on_due`, once at start and then continually.

    `on_due` must lock the saga with `skip_locked` and check it is still due, so that several
    instances of a service, or a message arriving at the same moment, never run one step twice.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        on_due: Callable[[str], Awaitable[None]],
        *,
        poll_seconds: float = 0.5,
        batch_size: int = 100,
        steps_at_once: int = 16,
    ) -> None:
        self._engine = engine
        self._on_due = on_due
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        # Steps of different sagas run side by side: one at a time, a step that calls another service held up
        # every saga due after it (settlement's thousand lines, each finishing with a call to payment).
        self._steps_at_once = asyncio.Semaphore(steps_at_once)
        self._wake = asyncio.Event()
        self._next_measure = 0.0

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await asyncio.gather(*(self._step(saga_id, started_in) for saga_id, started_in in await self._due()))
                if asyncio.get_running_loop().time() >= self._next_measure:
                    await self.measure()
                    self._next_measure = asyncio.get_running_loop().time() + _MEASURE_INTERVAL_SECONDS
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("saga_timer_failed")
            await wait_at_most(self._wake, self._poll_seconds)

    async def measure(self) -> None:
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    sa.select(sagas.c.kind, sagas.c.step, sa.func.count(), sa.func.min(sagas.c.created_at))
                    .where(sagas.c.wake_at.is_not(None))
                    .group_by(sagas.c.kind, sagas.c.step)
                )
            ).all()
        now = utcnow()
        # Cleared and set with no await between: a scrape sees the old figures or the new, and no step that has
        # emptied since.
        SCHEDULED.clear()
        OLDEST_SCHEDULED.clear()
        for kind, step, count, oldest in rows:
            SCHEDULED.labels(kind, step).set(count)
            OLDEST_SCHEDULED.labels(kind, step).set((now - oldest).total_seconds())

    async def _step(self, saga_id: str, started_in: dict[str, str] | None) -> None:
        async with self._steps_at_once:
            with tracing.resuming(saga_id, started_in):
                try:
                    await self._on_due(saga_id)
                except Exception:
                    _log.exception("saga_step_failed", saga_id=saga_id)

    async def _due(self) -> list[tuple[str, dict[str, str] | None]]:
        """Each due saga, with the trace it started in."""
        async with self._engine.connect() as connection:
            statement = (
                sa.select(sagas.c.saga_id, sagas.c.trace_context)
                .where(sagas.c.wake_at <= utcnow())
                .order_by(sagas.c.wake_at)
                .limit(self._batch_size)
            )
            return [(row.saga_id, row.trace_context) for row in await connection.execute(statement)]
