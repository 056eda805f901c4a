"""Money-query's repositories and unit of work (SQLAlchemy Core on asyncpg)."""

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from pay.money_query.adapters.tables import members, projection_status, rebuilt_members
from pay.money_query.domain.projection import MemberMoney, ProjectionStatus, RegionMoney
from pay.platform.db import SqlUnitOfWork, as_rows, rows_parameter

_STATUS_ROW = 1
_OPEN_MEMBERS = sa.text(
    """
    INSERT INTO members (membership_id, balance, wallet_version)
    SELECT m.membership_id, 0, 0 FROM json_to_recordset(CAST(:ids AS json)) AS m(membership_id text)
    ON CONFLICT DO NOTHING
    """
).bindparams(rows_parameter("ids"))
_SAVE_MEMBERS = sa.text(
    """
    UPDATE members
    SET address = m.address, address_as_of = m.address_as_of, balance = m.balance, wallet_version = m.wallet_version
    FROM json_populate_recordset(NULL::members, CAST(:members AS json)) AS m
    WHERE members.membership_id = m.membership_id
    """
).bindparams(rows_parameter("members"))


class SqlMemberRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def lock(self, membership_ids: Collection[str]) -> Mapping[str, MemberMoney]:
        # Empty rows first, so that two first events of one member wait for each other instead of racing; and
        # in one order, so that two groups naming the same members wait for each other instead of deadlocking.
        ids = sorted(set(membership_ids))
        await self._connection.execute(_OPEN_MEMBERS, {"ids": as_rows([{"membership_id": id_} for id_ in ids])})
        statement = (
            members.select()
            .where(members.c.membership_id == sa.any_(sa.bindparam("ids", type_=ARRAY(sa.String))))
            .order_by(members.c.membership_id)
            .with_for_update()
        )
        return {row.membership_id: _member(row) for row in await self._connection.execute(statement, {"ids": ids})}

    async def save(self, changed: Collection[MemberMoney]) -> None:
        if changed:
            await self._connection.execute(_SAVE_MEMBERS, {"members": as_rows([_columns(m) for m in changed])})

    async def region(self, address: str) -> RegionMoney:
        statement = sa.select(sa.func.coalesce(sa.func.sum(members.c.balance), 0), sa.func.count()).where(
            members.c.address == address
        )
        money_sum, count = (await self._connection.execute(statement)).one()
        return RegionMoney(address, int(money_sum), int(count))

    async def everyone(self) -> Mapping[str, MemberMoney]:
        return {row.membership_id: _member(row) for row in await self._connection.execute(members.select())}

    async def keep_rebuilt(self, rebuilt: Iterable[MemberMoney]) -> None:
        # TRUNCATE, not DELETE: it locks the table, so two rebuilds at once replace it one after the other
        # instead of inserting the same members side by side.
        await self._connection.execute(sa.text("TRUNCATE rebuilt_members"))
        rows = [_columns(member) for member in rebuilt]
        if rows:
            await self._connection.execute(rebuilt_members.insert(), rows)


class SqlStatusRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def applied(self, events: int, latest_occurred_at: datetime, applied_at: datetime) -> ProjectionStatus:
        lag = max((applied_at - latest_occurred_at).total_seconds(), 0.0)
        first = insert(projection_status).values(
            id=_STATUS_ROW,
            events_applied=events,
            last_event_at=latest_occurred_at,
            last_applied_at=applied_at,
            lag_seconds=lag,
        )
        statement = first.on_conflict_do_update(
            index_elements=[projection_status.c.id],
            set_={
                "events_applied": projection_status.c.events_applied + events,
                "last_event_at": sa.func.greatest(projection_status.c.last_event_at, latest_occurred_at),
                "last_applied_at": applied_at,
                "lag_seconds": lag,
            },
        ).returning(projection_status)
        return _status((await self._connection.execute(statement)).one())

    async def current(self) -> ProjectionStatus:
        row = (await self._connection.execute(projection_status.select())).first()
        return ProjectionStatus(0, None, 0.0) if row is None else _status(row)


class MoneyQueryUnitOfWork(SqlUnitOfWork):
    members: SqlMemberRepository
    status: SqlStatusRepository

    def _open(self) -> None:
        self.members = SqlMemberRepository(self.connection)
        self.status = SqlStatusRepository(self.connection)


def _columns(member: MemberMoney) -> dict[str, Any]:
    return {
        "membership_id": member.membership_id,
        "address": member.address,
        "address_as_of": member.address_as_of,
        "balance": member.balance,
        "wallet_version": member.wallet_version,
    }


def _member(row: Any) -> MemberMoney:
    return MemberMoney(row.membership_id, row.address, row.address_as_of, row.balance, row.wallet_version)


def _status(row: Any) -> ProjectionStatus:
    return ProjectionStatus(row.events_applied, row.last_event_at, row.lag_seconds)
