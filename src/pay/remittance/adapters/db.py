"""Remittance's repositories and unit of work (SQLAlchemy Core on asyncpg)."""

from collections.abc import Iterator
from datetime import date
from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from pay.contracts.messages import Message
from pay.platform.db import SqlUnitOfWork, drain_events
from pay.platform.idempotency.kept import KeptAnswers
from pay.platform.paging import cut_page
from pay.platform.saga import SagaRecord, SagaRepository
from pay.remittance.adapters.messaging import remittance_ended, to_message
from pay.remittance.adapters.tables import daily_totals, remittances
from pay.remittance.application.ports import HistoryPage
from pay.remittance.domain.model import BankTarget, Remittance, RemittanceStatus, RemittanceType
from pay.remittance.domain.saga import RemittanceSaga, Step

# The kind of remittance's rows in the kernel's saga table, one per remittance, under its id.
REMITTANCE_SAGA = "remittance"


class SqlRemittanceRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        # What this unit of work saved: their recorded events are sent when it commits.
        self.seen: list[Remittance] = []

    async def add(self, remittance: Remittance) -> None:
        await self._connection.execute(remittances.insert().values(**_columns(remittance)))

    async def get(self, remittance_id: str, *, for_update: bool = False) -> Remittance | None:
        statement = remittances.select().where(remittances.c.remittance_id == remittance_id)
        row = (await self._connection.execute(statement.with_for_update() if for_update else statement)).first()
        return None if row is None else _remittance(row)

    async def save(self, remittance: Remittance) -> None:
        statement = remittances.update().where(remittances.c.remittance_id == remittance.remittance_id)
        await self._connection.execute(statement.values(**_columns(remittance)))
        self.seen.append(remittance)

    async def of_member(self, membership_id: str, before: int | None, limit: int) -> HistoryPage:
        statement = (
            remittances.select()
            .where(
                sa.or_(
                    remittances.c.from_membership_id == membership_id, remittances.c.to_membership_id == membership_id
                )
            )
            .order_by(remittances.c.seq.desc())
            .limit(limit + 1)
        )
        if before is not None:
            statement = statement.where(remittances.c.seq < before)
        page, next_cursor = cut_page(list(await self._connection.execute(statement)), limit, lambda row: row.seq)
        return HistoryPage([_remittance(row) for row in page], next_cursor)


def _columns(remittance: Remittance) -> dict[str, Any]:
    target = remittance.to_bank
    return {
        "remittance_id": remittance.remittance_id,
        "from_membership_id": remittance.from_membership_id,
        "to_membership_id": remittance.to_membership_id,
        "to_bank_name": target.bank_name if target else None,
        "to_bank_account_number": target.account_number if target else None,
        "remittance_type": remittance.remittance_type.value,
        "amount": remittance.amount,
        "recharged_amount": remittance.recharged_amount,
        "status": remittance.status.value,
        "reason": remittance.reason,
        "business_day": remittance.business_day,
        "created_at": remittance.created_at,
        "updated_at": remittance.updated_at,
    }


def _remittance(row: Any) -> Remittance:
    return Remittance(
        remittance_id=row.remittance_id,
        from_membership_id=row.from_membership_id,
        remittance_type=RemittanceType(row.remittance_type),
        amount=row.amount,
        status=RemittanceStatus(row.status),
        business_day=row.business_day,
        created_at=row.created_at,
        updated_at=row.updated_at,
        to_membership_id=row.to_membership_id,
        to_bank=BankTarget(row.to_bank_name, row.to_bank_account_number) if row.to_bank_name else None,
        recharged_amount=row.recharged_amount,
        reason=row.reason,
    )


class SqlDailyTotals:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add_within(self, membership_id: str, day: date, amount: int, limit: int) -> bool:
        # One statement: the row of the day is locked by the insert or the update, so a concurrent request
        # waits for this transaction and then sees its total.
        first = insert(daily_totals).values(membership_id=membership_id, business_day=day, total=amount)
        statement = first.on_conflict_do_update(
            index_elements=[daily_totals.c.membership_id, daily_totals.c.business_day],
            set_={"total": daily_totals.c.total + amount},
            where=daily_totals.c.total + amount <= limit,
        ).returning(daily_totals.c.total)
        return (await self._connection.execute(statement)).first() is not None

    async def give_back(self, membership_id: str, day: date, amount: int) -> None:
        await self._connection.execute(
            daily_totals.update()
            .where(daily_totals.c.membership_id == membership_id, daily_totals.c.business_day == day)
            .values(total=daily_totals.c.total - amount)
        )


def _account(account: BankTarget | None) -> dict[str, str] | None:
    return None if account is None else {"bankName": account.bank_name, "accountNumber": account.account_number}


def _account_of(data: dict[str, str] | None) -> BankTarget | None:
    return None if data is None else BankTarget(data["bankName"], data["accountNumber"])


def _record(saga: RemittanceSaga) -> SagaRecord:
    return SagaRecord(
        saga_id=saga.saga_id,
        kind=REMITTANCE_SAGA,
        step=saga.step.value,
        finished=saga.is_finished,
        wake_at=saga.wake_at,
        data={
            "remittanceType": saga.remittance_type.value,
            "sender": saga.sender,
            "receiver": saga.receiver,
            "target": _account(saga.target),
            "corporateAccount": _account(saga.corporate_account),
            "amount": saga.amount,
            "recharge": saga.recharge,
            "rechargeDone": saga.recharge_done,
            "attempts": saga.attempts,
            "failure": saga.failure,
            "payoutRefused": saga.payout_refused,
            "firmbankingRequestId": saga.firmbanking_request_id,
        },
    )


def _saga(record: SagaRecord) -> RemittanceSaga | None:
    if record.kind != REMITTANCE_SAGA:
        return None
    data = record.data
    corporate = _account_of(data["corporateAccount"])
    assert corporate is not None
    return RemittanceSaga(
        saga_id=record.saga_id,
        remittance_type=RemittanceType(data["remittanceType"]),
        sender=data["sender"],
        amount=data["amount"],
        recharge=data["recharge"],
        corporate_account=corporate,
        step=Step(record.step),
        wake_at=record.wake_at,
        receiver=data["receiver"],
        target=_account_of(data["target"]),
        attempts=data["attempts"],
        recharge_done=data["rechargeDone"],
        failure=data["failure"],
        payout_refused=data["payoutRefused"],
        firmbanking_request_id=data["firmbankingRequestId"],
    )


class RemittanceUnitOfWork(SqlUnitOfWork):
    remittances: SqlRemittanceRepository
    sagas: SagaRepository[RemittanceSaga]
    daily_totals: SqlDailyTotals

    def _open(self) -> None:
        self.remittances = SqlRemittanceRepository(self.connection)
        self.sagas = SagaRepository(self.connection, _record, _saga)
        self.daily_totals = SqlDailyTotals(self.connection)
        self._answers = KeptAnswers(self.connection)

    def _new_messages(self) -> Iterator[Message]:
        return chain(drain_events(self.sagas.seen, to_message), drain_events(self.remittances.seen, remittance_ended))

    async def earlier_answer(self, key: object) -> object | None:
        return await self._answers.earlier_one(key)

    async def keep_answer(self, key: object, outcome: object) -> None:
        await self._answers.keep([(key, outcome)])
