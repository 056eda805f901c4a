"""Franchise's repository and unit of work (SQLAlchemy Core on asyncpg)."""

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pay.contracts.messages import Message
from pay.franchise.adapters.messaging import to_message
from pay.franchise.adapters.tables import (
    fee_rates,
    franchises,
    webhook_attempts,
    webhook_deliveries,
    webhook_secrets,
)
from pay.franchise.application.ports import DeliveryPage, FranchisePage
from pay.franchise.domain.model import BankAccount, Franchise
from pay.franchise.domain.webhooks import Attempt, Delivery, DeliveryStatus
from pay.platform.db import SqlUnitOfWork, drain_events, utcnow
from pay.platform.idempotency.kept import KeptAnswers
from pay.platform.paging import cut_page
from pay.platform.saga import SagaRecord, SagaStore, sagas
from pay.platform.sealing import Sealer

# The kind of franchise's rows in the kernel's saga table: one per webhook delivery, under its id.
DELIVERY_SAGA = "webhook-delivery"

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


class SqlWebhookSecrets:
    """Secrets sealed with AES-256-GCM, bound to their franchise's id."""

    def __init__(self, connection: AsyncConnection, sealer: Sealer) -> None:
        self._connection = connection
        self._sealer = sealer

    async def put(self, franchise_id: str, secret: str) -> None:
        values = {"sealed_secret": self._sealer.seal(secret.encode(), franchise_id), "created_at": utcnow()}
        await self._connection.execute(
            insert(webhook_secrets)
            .values(franchise_id=franchise_id, **values)
            .on_conflict_do_update(index_elements=[webhook_secrets.c.franchise_id], set_=values)
        )

    async def get(self, franchise_id: str) -> str | None:
        statement = sa.select(webhook_secrets.c.sealed_secret).where(webhook_secrets.c.franchise_id == franchise_id)
        sealed = (await self._connection.execute(statement)).scalar_one_or_none()
        return None if sealed is None else self._sealer.open(sealed, franchise_id).decode()


class SqlDeliveries:
    """A delivery is a row of `webhook_deliveries` with its tries, timed by its saga's row."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        self._sagas = SagaStore(connection)
        # How many tries each delivery read had stored: `save` adds only those after them.
        self._stored_attempts: dict[str, int] = {}

    async def add(self, delivery: Delivery) -> None:
        await self._connection.execute(webhook_deliveries.insert().values(**_delivery_columns(delivery)))
        await self._sagas.add(_delivery_record(delivery))
        self._stored_attempts[delivery.delivery_id] = 0
        await self._add_attempts(delivery)

    async def lock(self, delivery_id: str, *, skip_locked: bool = False) -> Delivery | None:
        record = await self._sagas.lock(delivery_id, skip_locked=skip_locked)
        if record is None or record.kind != DELIVERY_SAGA:
            return None
        row = (
            await self._connection.execute(
                webhook_deliveries.select().where(webhook_deliveries.c.delivery_id == delivery_id)
            )
        ).one()
        attempts = await self._attempts([delivery_id])
        self._stored_attempts[delivery_id] = len(attempts.get(delivery_id, []))
        return _delivery(row, attempts.get(delivery_id, []), record)

    async def save(self, delivery: Delivery) -> None:
        await self._sagas.save(_delivery_record(delivery))
        await self._connection.execute(
            webhook_deliveries.update()
            .where(webhook_deliveries.c.delivery_id == delivery.delivery_id)
            .values(status=delivery.status.value, updated_at=delivery.updated_at)
        )
        await self._add_attempts(delivery)

    async def page(self, franchise_id: str, after: int | None, limit: int) -> DeliveryPage:
        statement = (
            sa.select(webhook_deliveries, sagas.c.wake_at, sagas.c.data)
            .select_from(webhook_deliveries.join(sagas, sagas.c.saga_id == webhook_deliveries.c.delivery_id))
            .where(webhook_deliveries.c.franchise_id == franchise_id)
            .order_by(webhook_deliveries.c.seq.desc())
            .limit(limit + 1)
        )
        if after is not None:
            statement = statement.where(webhook_deliveries.c.seq < after)
        rows, next_cursor = cut_page(list(await self._connection.execute(statement)), limit, lambda row: row.seq)
        attempts = await self._attempts([row.delivery_id for row in rows])
        return DeliveryPage([_delivery(row, attempts.get(row.delivery_id, []), None) for row in rows], next_cursor)

    async def _attempts(self, delivery_ids: list[str]) -> dict[str, list[Attempt]]:
        if not delivery_ids:
            return {}
        statement = (
            webhook_attempts.select()
            .where(webhook_attempts.c.delivery_id.in_(delivery_ids))
            .order_by(webhook_attempts.c.delivery_id, webhook_attempts.c.at, webhook_attempts.c.number)
        )
        found: dict[str, list[Attempt]] = {}
        for row in await self._connection.execute(statement):
            found.setdefault(row.delivery_id, []).append(
                Attempt(row.number, row.at, row.status_code, row.error, row.duration_ms)
            )
        return found

    async def _add_attempts(self, delivery: Delivery) -> None:
        new = delivery.attempts[self._stored_attempts.get(delivery.delivery_id, 0) :]
        if new:
            await self._connection.execute(
                webhook_attempts.insert(),
                [
                    {
                        "delivery_id": delivery.delivery_id,
                        "number": attempt.number,
                        "at": attempt.at,
                        "status_code": attempt.status_code,
                        "error": attempt.error[:300] if attempt.error else None,
                        "duration_ms": attempt.duration_ms,
                    }
                    for attempt in new
                ],
            )
        self._stored_attempts[delivery.delivery_id] = len(delivery.attempts)


def _delivery_columns(delivery: Delivery) -> dict[str, Any]:
    return {
        "delivery_id": delivery.delivery_id,
        "franchise_id": delivery.franchise_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "body": delivery.body,
        "status": delivery.status.value,
        "created_at": delivery.created_at,
        "updated_at": delivery.updated_at,
    }


def _delivery_record(delivery: Delivery) -> SagaRecord:
    return SagaRecord(
        saga_id=delivery.delivery_id,
        kind=DELIVERY_SAGA,
        step=delivery.status.value,
        finished=delivery.is_finished,
        data={"tries": delivery.tries, "failures": delivery.failures, "deadline": delivery.deadline.isoformat()},
        wake_at=delivery.wake_at,
    )


def _delivery(row: Any, attempts: list[Attempt], record: SagaRecord | None) -> Delivery:
    data = record.data if record is not None else row.data
    return Delivery(
        delivery_id=row.delivery_id,
        franchise_id=row.franchise_id,
        event_id=row.event_id,
        event_type=row.event_type,
        body=row.body,
        status=DeliveryStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        deadline=datetime.fromisoformat(data["deadline"]),
        wake_at=record.wake_at if record is not None else row.wake_at,
        tries=data["tries"],
        failures=data["failures"],
        attempts=attempts,
    )


class FranchiseUnitOfWork(SqlUnitOfWork):
    franchises: SqlFranchiseRepository
    webhook_secrets: SqlWebhookSecrets
    deliveries: SqlDeliveries

    def __init__(self, engine: AsyncEngine, sealer: Sealer, on_commit: Callable[[], None] = lambda: None) -> None:
        super().__init__(engine, on_commit)
        self._sealer = sealer

    def _open(self) -> None:
        self.franchises = SqlFranchiseRepository(self.connection)
        self.webhook_secrets = SqlWebhookSecrets(self.connection, self._sealer)
        self.deliveries = SqlDeliveries(self.connection)
        self._answers = KeptAnswers(self.connection)

    def _new_messages(self) -> Iterator[Message]:
        return drain_events(self.franchises.seen, to_message)

    async def earlier_answer(self, key: object) -> object | None:
        return await self._answers.earlier_one(key)

    async def keep_answer(self, key: object, outcome: object) -> None:
        await self._answers.keep([(key, outcome)])
