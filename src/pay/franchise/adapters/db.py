"""Franchise's repository and unit of work (SQLAlchemy Core on asyncpg)."""

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from pay.contracts.messages import Message
from pay.franchise.adapters.messaging import to_message
from pay.franchise.adapters.tables import fee_rates, franchises
from pay.franchise.application.ports import FranchisePage
from pay.franchise.domain.model import BankAccount, Franchise
from pay.platform.db import SqlUnitOfWork, drain_events
from pay.platform.idempotency.kept import KeptAnswers
from pay.platform.paging import cut_page

# The rate in force: the latest one each franchise was given.
_in_force = (
    sa.select(fee_rates.c.rate, fee_rates.c.effective_from)
    .where(fee_rates.c.franchise_id == franchises.c.franchise_id)
    .order_by(fee_rates.c.effective_from.desc())
    .limit(1)
    .lateral("in_force")
)
_with_rate = sa.select(franchises, _in_force.c.rate, _in_force.c.effective_from).select_from(
    franchises.join(_in_force, sa.true())
)


class SqlFranchiseRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        # Every franchise this unit of work handled, for the events they recorded to be sent on commit.
        self.seen: list[Franchise] = []

    async def add(self, franchise: Franchise) -> None:
        await self._connection.execute(franchises.insert().values(**_columns(franchise)))
        await self._add_rate(franchise)
        self.seen.append(franchise)

    async def get(self, franchise_id: str, *, for_update: bool = False) -> Franchise | None:
        statement = _with_rate.where(franchises.c.franchise_id == franchise_id)
        if for_update:
            statement = statement.with_for_update(of=franchises)
        row = (await self._connection.execute(statement)).first()
        return None if row is None else _franchise(row)

    async def save(self, franchise: Franchise) -> None:
        statement = franchises.update().where(franchises.c.franchise_id == franchise.franchise_id)
        await self._connection.execute(statement.values(**_columns(franchise)))
        await self._add_rate(franchise)
        self.seen.append(franchise)

    async def page(self, owner_membership_id: str | None, after: int | None, limit: int) -> FranchisePage:
        statement = _with_rate.order_by(franchises.c.seq).limit(limit + 1)
        if owner_membership_id is not None:
            statement = statement.where(franchises.c.owner_membership_id == owner_membership_id)
        if after is not None:
            statement = statement.where(franchises.c.seq > after)
        page, next_cursor = cut_page(list(await self._connection.execute(statement)), limit, lambda row: row.seq)
        return FranchisePage([_franchise(row) for row in page], next_cursor)

    async def _add_rate(self, franchise: Franchise) -> None:
        # The rate in force is recorded once, when it took effect; the rows of earlier rates are never touched.
        await self._connection.execute(
            insert(fee_rates)
            .values(
                franchise_id=franchise.franchise_id,
                effective_from=franchise.fee_rate_since,
                rate=franchise.fee_rate,
            )
            .on_conflict_do_nothing()
        )


def _columns(franchise: Franchise) -> dict[str, Any]:
    return {
        "franchise_id": franchise.franchise_id,
        "owner_membership_id": franchise.owner_membership_id,
        "name": franchise.name,
        "contact": franchise.contact,
        "bank_name": franchise.settlement_account.bank_name,
        "bank_account_number": franchise.settlement_account.account_number,
        "webhook_url": franchise.webhook_url,
        "is_valid": franchise.is_valid,
        "created_at": franchise.created_at,
        "updated_at": franchise.updated_at,
    }


def _franchise(row: Any) -> Franchise:
    return Franchise(
        franchise_id=row.franchise_id,
        owner_membership_id=row.owner_membership_id,
        name=row.name,
        contact=row.contact,
        settlement_account=BankAccount(row.bank_name, row.bank_account_number),
        fee_rate=row.rate,
        fee_rate_since=row.effective_from,
        webhook_url=row.webhook_url,
        is_valid=row.is_valid,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class FranchiseUnitOfWork(SqlUnitOfWork):
    franchises: SqlFranchiseRepository

    def _open(self) -> None:
        self.franchises = SqlFranchiseRepository(self.connection)
        self._answers = KeptAnswers(self.connection)

    def _new_messages(self) -> Iterator[Message]:
        return drain_events(self.franchises.seen, to_message)

    async def earlier_answer(self, key: object) -> object | None:
        return await self._answers.earlier_one(key)

    async def keep_answer(self, key: object, outcome: object) -> None:
        await self._answers.keep([(key, outcome)])
