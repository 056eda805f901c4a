"""Members membership deactivated (`deactivated_members`), kept from its events."""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from pay.money.adapters.tables import deactivated_members

# A part of a wallet write's `WHERE` (see `folds_sql`): a wallet among the `:guarded` ones whose member
# was deactivated is not written, so the write fails whole (`OptimisticConcurrencyConflict`) and its
# group is decided again, on who is deactivated. The guess reads nothing more for it.
NOT_DEACTIVATED_SQL = """
    AND NOT EXISTS (
        SELECT FROM deactivated_members AS d
        WHERE d.membership_id = w.membership_id AND d.deactivated
            AND d.membership_id IN (SELECT json_array_elements_text(CAST(:guarded AS json)))
    )
"""
GUARDED_PARAMETER = sa.bindparam("guarded", type_=sa.String)


class SqlMemberStandings:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def deactivated_among(self, membership_ids: Sequence[str]) -> set[str]:
        if not membership_ids:
            return set()
        statement = sa.select(deactivated_members.c.membership_id).where(
            deactivated_members.c.membership_id.in_(membership_ids), deactivated_members.c.deactivated
        )
        return set((await self._connection.execute(statement)).scalars())

    async def record(self, membership_id: str, is_valid: bool, as_of: datetime) -> None:
        statement = insert(deactivated_members).values(
            membership_id=membership_id, deactivated=not is_valid, as_of=as_of
        )
        await self._connection.execute(
            statement.on_conflict_do_update(
                index_elements=[deactivated_members.c.membership_id],
                set_={"deactivated": statement.excluded.deactivated, "as_of": statement.excluded.as_of},
                where=deactivated_members.c.as_of < statement.excluded.as_of,
            )
        )
