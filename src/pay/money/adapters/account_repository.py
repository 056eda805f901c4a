"""Payables and revenue (`account_entries`): their journal, and balances summed from it (decision 22)."""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pay.money.adapters.tables import account_entries
from pay.money.domain.accounts import AccountKind, Entry, Payable


class SqlAccountRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def append(self, request_id: str, entries: Sequence[Entry], now: datetime) -> None:
        if entries:
            await self._connection.execute(
                account_entries.insert(),
                [
                    {
                        "request_id": request_id,
                        "kind": entry.kind.value,
                        "franchise_id": entry.franchise_id,
                        "amount": entry.amount,
                        "occurred_at": now,
                    }
                    for entry in entries
                ],
            )

    async def payable(self, franchise_id: str) -> Payable:
        return Payable(franchise_id, await self._payable_balance(franchise_id))

    async def totals(self) -> tuple[int, int]:
        """All payables together, and revenue."""
        statement = sa.select(
            sa.func.coalesce(
                sa.func.sum(account_entries.c.amount).filter(account_entries.c.kind == AccountKind.PAYABLE.value), 0
            ),
            sa.func.coalesce(
                sa.func.sum(account_entries.c.amount).filter(account_entries.c.kind == AccountKind.REVENUE.value), 0
            ),
        )
        payables, revenue = (await self._connection.execute(statement)).one()
        return int(payables), int(revenue)

    async def _payable_balance(self, franchise_id: str) -> int:
        statement = sa.select(sa.func.coalesce(sa.func.sum(account_entries.c.amount), 0)).where(
            account_entries.c.kind == AccountKind.PAYABLE.value, account_entries.c.franchise_id == franchise_id
        )
        return int((await self._connection.execute(statement)).scalar_one())
