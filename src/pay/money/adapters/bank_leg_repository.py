"""The bank side of money changing requests (`bank_legs`)."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from pay.money.adapters.tables import bank_legs
from pay.money.application.ports import BankLegPage
from pay.money.domain.requests import BankLeg
from pay.platform.db import utcnow
from pay.platform.paging import cut_page


class SqlBankLegRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, leg: BankLeg) -> bool:
        result = await self._connection.execute(
            insert(bank_legs)
            .values(transfer_id=leg.transfer_id, request_id=leg.request_id, amount=leg.amount, recorded_at=utcnow())
            .on_conflict_do_nothing(index_elements=[bank_legs.c.transfer_id])
        )
        return bool(result.rowcount)

    async def page(self, after: str | None, limit: int) -> BankLegPage:
        statement = sa.select(bank_legs).order_by(bank_legs.c.transfer_id).limit(limit + 1)
        if after is not None:
            statement = statement.where(bank_legs.c.transfer_id > after)
        found = [
            BankLeg(row.transfer_id, row.request_id, row.amount) for row in await self._connection.execute(statement)
        ]
        return BankLegPage(*cut_page(found, limit, lambda leg: leg.transfer_id))
