"""Notification's repositories and unit of work (SQLAlchemy Core on asyncpg)."""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from pay.notification.adapters.tables import franchise_owners, notifications, recipients, stream_tickets
from pay.notification.domain.model import Entry, FranchiseOwner, Ticket
from pay.platform.db import SqlUnitOfWork, as_rows, rows_parameter

# Where open streams hear that a recipient's feed grew: PostgreSQL delivers a NOTIFY when its transaction
# commits, to every process listening (one connection each), with the recipient's id as payload.
CHANNEL = "pay_notifications"

_IDS = ARRAY(sa.String)
# Empty rows first, so that the first entries of one recipient in two transactions wait for each other; in one
# order, so that two groups naming the same recipients wait for each other instead of deadlocking.
_OPEN_RECIPIENTS = sa.text(
    """
    INSERT INTO recipients (recipient_id, last_seq)
    SELECT r.recipient_id, 0 FROM json_to_recordset(CAST(:ids AS json)) AS r(recipient_id text)
    ORDER BY r.recipient_id
    ON CONFLICT DO NOTHING
    """
).bindparams(rows_parameter("ids"))
_ADD_ENTRIES = sa.text(
    """
    INSERT INTO notifications
    SELECT * FROM json_populate_recordset(NULL::notifications, CAST(:entries AS json))
    """
).bindparams(rows_parameter("entries"))
_RAISE_LAST_SEQS = sa.text(
    """
    UPDATE recipients SET last_seq = r.last_seq
    FROM json_populate_recordset(NULL::recipients, CAST(:last AS json)) AS r
    WHERE recipients.recipient_id = r.recipient_id
    """
).bindparams(rows_parameter("last"))
# Each recipient's new last entry number and id ("7 <recipient>"), so a stream that has it already reads nothing.
_WAKE_STREAMS = sa.text(
    f"""
    SELECT pg_notify('{CHANNEL}', r.last_seq || ' ' || r.recipient_id)
    FROM json_to_recordset(CAST(:last AS json)) AS r(recipient_id text, last_seq bigint)
    """
).bindparams(rows_parameter("last"))


class SqlFeedRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def last_seqs(self, recipient_ids: Collection[str]) -> Mapping[str, int]:
        ids = sorted(set(recipient_ids))
        await self._connection.execute(_OPEN_RECIPIENTS, {"ids": as_rows([{"recipient_id": id_} for id_ in ids])})
        statement = (
            sa.select(recipients.c.recipient_id, recipients.c.last_seq)
            .where(recipients.c.recipient_id == sa.any_(sa.bindparam("ids", type_=_IDS)))
            .order_by(recipients.c.recipient_id)
            .with_for_update()
        )
        return {row.recipient_id: row.last_seq for row in await self._connection.execute(statement, {"ids": ids})}

    async def add(self, entries: Sequence[Entry], forget_before: datetime) -> None:
        if not entries:
            return
        last: dict[str, int] = {}
        for entry in entries:
            last[entry.recipient] = max(last.get(entry.recipient, 0), entry.seq)
        await self._connection.execute(_ADD_ENTRIES, {"entries": as_rows([_columns(entry) for entry in entries])})
        rows = as_rows([{"recipient_id": recipient, "last_seq": seq} for recipient, seq in last.items()])
        await self._connection.execute(_RAISE_LAST_SEQS, {"last": rows})
        ids = sorted(last)
        await self._connection.execute(
            notifications.delete().where(
                notifications.c.recipient_id == sa.any_(sa.bindparam("ids", type_=_IDS)),
                notifications.c.created_at < forget_before,
            ),
            {"ids": ids},
        )
        await self._connection.execute(_WAKE_STREAMS, {"last": rows})

    async def after(self, recipient: str, seq: int, limit: int) -> list[Entry]:
        statement = (
            notifications.select()
            .where(notifications.c.recipient_id == recipient, notifications.c.seq > seq)
            .order_by(notifications.c.seq)
            .limit(limit)
        )
        return [_entry(row) for row in await self._connection.execute(statement)]

    async def before(self, recipient: str, seq: int | None, limit: int) -> list[Entry]:
        statement = (
            notifications.select()
            .where(notifications.c.recipient_id == recipient)
            .order_by(notifications.c.seq.desc())
            .limit(limit)
        )
        if seq is not None:
            statement = statement.where(notifications.c.seq < seq)
        return [_entry(row) for row in await self._connection.execute(statement)]

    async def last_seq(self, recipient: str) -> int:
        statement = sa.select(recipients.c.last_seq).where(recipients.c.recipient_id == recipient)
        return int((await self._connection.execute(statement)).scalar() or 0)


class SqlFranchiseRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def owners(self, franchise_ids: Collection[str]) -> Mapping[str, FranchiseOwner]:
        statement = franchise_owners.select().where(
            franchise_owners.c.franchise_id == sa.any_(sa.bindparam("ids", type_=_IDS))
        )
        rows = await self._connection.execute(statement, {"ids": sorted(set(franchise_ids))})
        return {row.franchise_id: FranchiseOwner(row.franchise_id, row.owner_membership_id, row.as_of) for row in rows}

    async def keep(self, owner: FranchiseOwner) -> None:
        first = insert(franchise_owners).values(
            franchise_id=owner.franchise_id, owner_membership_id=owner.owner_membership_id, as_of=owner.as_of
        )
        await self._connection.execute(
            first.on_conflict_do_update(
                index_elements=[franchise_owners.c.franchise_id],
                set_={"owner_membership_id": first.excluded.owner_membership_id, "as_of": first.excluded.as_of},
                where=franchise_owners.c.as_of < first.excluded.as_of,
            )
        )


class SqlTicketRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, digest: str, ticket: Ticket, forget_expired_before: datetime) -> None:
        await self._connection.execute(
            stream_tickets.delete().where(stream_tickets.c.expires_at < forget_expired_before)
        )
        await self._connection.execute(
            stream_tickets.insert().values(
                digest=digest, subject=ticket.subject, role=ticket.role, expires_at=ticket.expires_at
            )
        )

    async def use(self, digest: str, now: datetime) -> Ticket | None:
        statement = (
            stream_tickets.update()
            .where(
                stream_tickets.c.digest == digest,
                stream_tickets.c.used_at.is_(None),
                stream_tickets.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(stream_tickets.c.subject, stream_tickets.c.role, stream_tickets.c.expires_at)
        )
        row = (await self._connection.execute(statement)).first()
        return None if row is None else Ticket(row.subject, row.role, row.expires_at)


class NotificationUnitOfWork(SqlUnitOfWork):
    feed: SqlFeedRepository
    franchises: SqlFranchiseRepository
    tickets: SqlTicketRepository

    def _open(self) -> None:
        self.feed = SqlFeedRepository(self.connection)
        self.franchises = SqlFranchiseRepository(self.connection)
        self.tickets = SqlTicketRepository(self.connection)


def _columns(entry: Entry) -> dict[str, Any]:
    return {
        "recipient_id": entry.recipient,
        "seq": entry.seq,
        "kind": entry.kind,
        "text": entry.text,
        "data": dict(entry.data),
        "occurred_at": entry.occurred_at,
        "created_at": entry.created_at,
    }


def _entry(row: Any) -> Entry:
    return Entry(row.recipient_id, row.seq, row.kind, row.text, row.data, row.occurred_at, row.created_at)
