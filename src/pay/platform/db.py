"""Database access shared by every service: the engine, the tables the kernel owns, the unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, Self

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from pay.contracts.messages import Message
from pay.platform.tracing import current_trace_context

KERNEL_METADATA = sa.MetaData()

outbox = sa.Table(
    "outbox",
    KERNEL_METADATA,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("position", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True)),
    # The headers that carry on the trace (and request id) under which the message was written.
    sa.Column("trace_context", JSONB),
    sa.Index("outbox_unpublished", "position", postgresql_where=sa.text("published_at IS NULL")),
)

inbox = sa.Table(
    "inbox",
    KERNEL_METADATA,
    sa.Column("consumer", sa.String(100), primary_key=True),
    sa.Column("message_id", sa.String(100), primary_key=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    KERNEL_METADATA,
    sa.Column("scope", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("response_status", sa.Integer),
    sa.Column("response_body", sa.LargeBinary),
    sa.Column("response_headers", JSONB),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("idempotency_keys_created_at", "created_at"),
)


def rows_parameter(name: str) -> sa.BindParameter[str]:
    """A bind parameter that carries a group of rows as one JSON document (see `as_rows`).

    Statements read it with `json_populate_recordset` or `json_to_recordset`. Their text then stays
    the same whatever the number of rows, so it is prepared once, and a whole group costs the driver
    one string rather than one encoded value per field.
    """
    return sa.bindparam(name, type_=sa.String)


def as_rows(rows: Sequence[Mapping[str, Any]]) -> str:
    return orjson.dumps(rows).decode()


def utcnow() -> datetime:
    return datetime.now(UTC)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    # No overflow: connections opened and closed under load cost more than waiting for a pooled one.
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=0)
    _watch_failed_statements(engine)
    return engine


# Where a connection notes that a statement of its transaction failed, and the failure state before
# each open savepoint (rolling back to a savepoint undoes a failure inside it).
_FAILED = "pay.statement_failed"
_SAVEPOINTS = "pay.failed_before_savepoints"


def _watch_failed_statements(engine: AsyncEngine) -> None:
    def statement_failed(context: sa.engine.ExceptionContext) -> None:
        if context.connection is not None:
            context.connection.info[_FAILED] = True

    def savepoint(connection: sa.Connection, name: str) -> None:
        connection.info.setdefault(_SAVEPOINTS, []).append(connection.info.get(_FAILED, False))

    def rollback_savepoint(connection: sa.Connection, name: str, context: object) -> None:
        connection.info[_FAILED] = connection.info[_SAVEPOINTS].pop()

    def release_savepoint(connection: sa.Connection, name: str, context: object) -> None:
        connection.info[_SAVEPOINTS].pop()

    sa.event.listen(engine.sync_engine, "handle_error", statement_failed)
    sa.event.listen(engine.sync_engine, "savepoint", savepoint)
    sa.event.listen(engine.sync_engine, "rollback_savepoint", rollback_savepoint)
    sa.event.listen(engine.sync_engine, "release_savepoint", release_savepoint)


class StatementFailed(Exception):
    """A statement of this unit of work failed: PostgreSQL would quietly turn its commit into a rollback."""


def create_bookkeeping_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """Autocommit statements that do not wait for their own WAL flush.

    For records that only ever precede or follow a durable transaction of the same service, such as
    idempotency keys: PostgreSQL flushes its WAL in order, so the durable commit that follows a claim
    flushes the claim too, and losing a response record in a crash only makes a retry wait.
    """
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        isolation_level="AUTOCOMMIT",
        connect_args={"server_settings": {"synchronous_commit": "off"}},
    )


class Outbox:
    """Messages written in the caller's transaction; the relay publishes them after commit, on the trace
    under way when they were written."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        self.written = 0

    async def add(self, messages: Iterable[Message]) -> None:
        """All in one statement: a unit of work that sends a message per transfer of a group pays one round trip."""
        now = utcnow()
        trace_context = current_trace_context()
        rows = [
            {
                "id": uuid.UUID(message.message_id),
                "subject": message.subject,
                "payload": message.to_payload(),
                "created_at": now,
                "trace_context": trace_context,
            }
            for message in messages
        ]
        if rows:
            await self._connection.execute(outbox.insert(), rows)
            self.written += len(rows)


_FIRST_DELIVERIES = sa.text(
    """
    INSERT INTO inbox (consumer, message_id, received_at)
    SELECT :consumer, m.message_id, :now FROM json_to_recordset(CAST(:ids AS json)) AS m(message_id text)
    ON CONFLICT DO NOTHING
    RETURNING message_id
    """
).bindparams(rows_parameter("ids"))


class Inbox:
    """Remembers which messages a consumer has applied, in the same transaction as the effect."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def first_delivery(self, consumer: str, message_id: str) -> bool:
        result = await self._connection.execute(
            insert(inbox)
            .values(consumer=consumer, message_id=message_id, received_at=utcnow())
            .on_conflict_do_nothing()
        )
        return bool(result.rowcount)

    async def first_deliveries(self, consumer: str, message_ids: Sequence[str]) -> set[str]:
        """Those of a group of messages the consumer meets for the first time, in one statement."""
        rows = as_rows([{"message_id": message_id} for message_id in sorted(set(message_ids))])
        result = await self._connection.execute(_FIRST_DELIVERIES, {"consumer": consumer, "now": utcnow(), "ids": rows})
        return set(result.scalars())


class HasEvents(Protocol):
    events: list[Any]


def drain_events(aggregates: Iterable[HasEvents], to_message: Callable[[Any], Message]) -> Iterator[Message]:
    """The aggregates' recorded events as messages, oldest first, each taken off its aggregate once."""
    for aggregate in aggregates:
        while aggregate.events:
            yield to_message(aggregate.events.pop(0))


class SqlUnitOfWork:
    """One database transaction; nothing is kept unless `commit()` is called.

    Services subclass it and build their repositories in `_open`, on `self.connection`.
    """

    connection: AsyncConnection
    inbox: Inbox

    def __init__(self, engine: AsyncEngine, on_commit: Callable[[], None] = lambda: None) -> None:
        self._engine = engine
        self._on_commit = on_commit

    async def __aenter__(self) -> Self:
        self.connection = await self._engine.connect()
        # The info lives as long as the pooled connection: a failure noted for an earlier user is not ours.
        self.connection.info[_FAILED] = False
        self.connection.info[_SAVEPOINTS] = []
        await self.connection.begin()
        self._outbox = Outbox(self.connection)
        self.inbox = Inbox(self.connection)
        self._open()
        return self

    def _open(self) -> None:
        """Hook for subclasses to create their repositories."""

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self.connection.in_transaction():
                await self.connection.rollback()
        finally:
            await self.connection.close()

    def _new_messages(self) -> Iterator[Message]:
        """Hook: the messages for the events the aggregates of this unit of work recorded."""
        return iter(())

    async def commit(self) -> None:
        """Keep the changes and the messages of the aggregates' events; `StatementFailed` keeps nothing."""
        if self.connection.info[_FAILED]:
            raise StatementFailed()
        await self._outbox.add(self._new_messages())
        await self.connection.commit()
        if self._outbox.written:
            self._on_commit()
