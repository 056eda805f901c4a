"""Settlement's repositories and unit of work (SQLAlchemy Core on asyncpg)."""

import itertools
from collections.abc import Iterator
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from pay.contracts.messages import Message
from pay.platform.db import SqlUnitOfWork, drain_events
from pay.platform.idempotency.kept import KeptAnswers
from pay.platform.paging import cut_page
from pay.platform.saga import SagaRecord, SagaRepository
from pay.settlement.adapters.messaging import outcome_message, to_message
from pay.settlement.adapters.tables import carried_debts, settlement_lines, settlements
from pay.settlement.application.ports import SettlementPage
from pay.settlement.domain.model import (
    BankAccount,
    CarriedDebt,
    Line,
    LineStatus,
    LineSums,
    Period,
    Schedule,
    Settlement,
    SettlementStatus,
)
from pay.settlement.domain.saga import LineSaga, RunSaga, RunStep, ScheduleSaga, Step

# The kinds of settlement's rows in the kernel's saga table.
LINE_SAGA = "settlement-line"
RUN_SAGA = "settlement-run"
SCHEDULE_SAGA = "settlement-schedule"

AnySaga = LineSaga | RunSaga | ScheduleSaga


class SqlSettlementRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        # Every line saved, for the unit of work to send the events it recorded when it commits.
        self.seen_lines: list[Line] = []

    async def add(self, settlement: Settlement) -> None:
        await self._connection.execute(settlements.insert().values(**_run_columns(settlement)))

    async def exists(self, settlement_id: str) -> bool:
        statement = sa.select(settlements.c.settlement_id).where(settlements.c.settlement_id == settlement_id)
        return (await self._connection.execute(statement)).first() is not None

    async def get(self, settlement_id: str, *, for_update: bool = False) -> Settlement | None:
        statement = settlements.select().where(settlements.c.settlement_id == settlement_id)
        row = (await self._connection.execute(statement.with_for_update() if for_update else statement)).first()
        if row is None:
            return None
        lines = settlement_lines.select().where(settlement_lines.c.settlement_id == settlement_id)
        return _settlement(
            row, [_line(line) for line in await self._connection.execute(lines.order_by("franchise_id"))]
        )

    async def lock_run(self, settlement_id: str) -> Settlement | None:
        statement = settlements.select().where(settlements.c.settlement_id == settlement_id).with_for_update()
        row = (await self._connection.execute(statement)).first()
        return None if row is None else _settlement(row, [])

    async def line(self, settlement_id: str, franchise_id: str) -> Line | None:
        statement = settlement_lines.select().where(
            settlement_lines.c.settlement_id == settlement_id, settlement_lines.c.franchise_id == franchise_id
        )
        row = (await self._connection.execute(statement)).first()
        return None if row is None else _line(row)

    async def line_statuses(self, settlement_id: str) -> set[LineStatus]:
        statement = (
            sa.select(settlement_lines.c.status).where(settlement_lines.c.settlement_id == settlement_id).distinct()
        )
        return {LineStatus(status) for status in (await self._connection.execute(statement)).scalars()}

    async def save(self, settlement: Settlement) -> None:
        statement = settlements.update().where(settlements.c.settlement_id == settlement.settlement_id)
        await self._connection.execute(statement.values(**_run_columns(settlement)))

    async def add_line(self, line: Line) -> None:
        await self._connection.execute(settlement_lines.insert().values(**_line_columns(line)))

    async def save_line(self, line: Line) -> None:
        statement = settlement_lines.update().where(
            settlement_lines.c.settlement_id == line.settlement_id,
            settlement_lines.c.franchise_id == line.franchise_id,
        )
        await self._connection.execute(statement.values(**_line_columns(line)))
        self.seen_lines.append(line)

    async def under_way(self) -> tuple[int, int]:
        running = sa.select(sa.func.count()).where(settlements.c.status == SettlementStatus.RUNNING.value)
        pending = sa.select(sa.func.count()).where(settlement_lines.c.status == LineStatus.PENDING.value)
        return (
            int((await self._connection.execute(running)).scalar_one()),
            int((await self._connection.execute(pending)).scalar_one()),
        )

    async def with_line_of(self, franchise_id: str, before: int | None, limit: int) -> SettlementPage:
        joined = settlements.join(settlement_lines, settlement_lines.c.settlement_id == settlements.c.settlement_id)
        statement = (
            sa.select(settlements, *[column.label(f"line_{column.name}") for column in settlement_lines.c])
            .select_from(joined)
            .where(settlement_lines.c.franchise_id == franchise_id)
            .order_by(settlements.c.seq.desc())
            .limit(limit + 1)
        )
        if before is not None:
            statement = statement.where(settlements.c.seq < before)
        page, next_cursor = cut_page(list(await self._connection.execute(statement)), limit, lambda row: row.seq)
        return SettlementPage([_settlement(row, [_line(row, prefix="line_")]) for row in page], next_cursor)


def _run_columns(settlement: Settlement) -> dict[str, Any]:
    return {
        "settlement_id": settlement.settlement_id,
        "period_from": settlement.period.first,
        "period_to": settlement.period.last,
        "status": settlement.status.value,
        "gathered": settlement.gathered,
        "created_at": settlement.created_at,
        "updated_at": settlement.updated_at,
    }


def _settlement(row: Any, lines: list[Line]) -> Settlement:
    return Settlement(
        settlement_id=row.settlement_id,
        period=Period(row.period_from, row.period_to),
        status=SettlementStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        gathered=row.gathered,
        lines=lines,
    )


def _line_columns(line: Line) -> dict[str, Any]:
    return {
        "settlement_id": line.settlement_id,
        "franchise_id": line.franchise_id,
        "gross": line.sums.gross,
        "fee": line.sums.fee,
        "owed": line.sums.owed,
        "payout": line.sums.payout,
        "carried": line.sums.carried,
        "payment_count": line.payment_count,
        "status": line.status.value,
        "reason": line.reason,
    }


def _line(row: Any, prefix: str = "") -> Line:
    def column(name: str) -> Any:
        return getattr(row, prefix + name)

    return Line(
        settlement_id=column("settlement_id"),
        franchise_id=column("franchise_id"),
        sums=LineSums(column("gross"), column("fee"), column("owed"), column("payout"), column("carried")),
        payment_count=column("payment_count"),
        status=LineStatus(column("status")),
        reason=column("reason"),
    )


class SqlDebts:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def claim(self, line: str, franchise_id: str) -> list[CarriedDebt]:
        statement = (
            carried_debts.update()
            .where(carried_debts.c.franchise_id == franchise_id, carried_debts.c.claimed_by.is_(None))
            .values(claimed_by=line)
            .returning(carried_debts.c.debt_id, carried_debts.c.amount)
        )
        return [CarriedDebt(row.debt_id, franchise_id, row.amount) for row in await self._connection.execute(statement)]

    async def release(self, line: str) -> None:
        await self._connection.execute(
            carried_debts.update().where(carried_debts.c.claimed_by == line).values(claimed_by=None)
        )

    async def carry(self, debt: CarriedDebt) -> None:
        await self._connection.execute(
            insert(carried_debts)
            .values(debt_id=debt.debt_id, franchise_id=debt.franchise_id, amount=debt.amount, claimed_by=None)
            .on_conflict_do_nothing()
        )


def _account(account: BankAccount | None) -> dict[str, str] | None:
    return None if account is None else {"bankName": account.bank_name, "accountNumber": account.account_number}


def _account_of(data: dict[str, str] | None) -> BankAccount | None:
    return None if data is None else BankAccount(data["bankName"], data["accountNumber"])


def _record(saga: AnySaga) -> SagaRecord:
    match saga:
        case LineSaga():
            return SagaRecord(
                saga_id=saga.saga_id,
                kind=LINE_SAGA,
                step=saga.step.value,
                finished=saga.is_finished,
                wake_at=saga.wake_at,
                data={
                    "settlementId": saga.settlement_id,
                    "franchiseId": saga.franchise_id,
                    "fee": saga.fee,
                    "payout": saga.payout,
                    "corporateAccount": _account(saga.corporate_account),
                    "franchiseAccount": _account(saga.franchise_account),
                    "attempts": saga.attempts,
                    "settleRound": saga.settle_round,
                    "failure": saga.failure,
                    "firmbankingRequestId": saga.firmbanking_request_id,
                },
            )
        case RunSaga():
            return SagaRecord(
                saga_id=saga.saga_id,
                kind=RUN_SAGA,
                step=saga.step.value,
                finished=saga.is_finished,
                wake_at=saga.wake_at,
                data={"attempts": saga.attempts, "lastFailure": saga.last_failure},
            )
        case ScheduleSaga():
            # Never finished: it waits for the next day's run, or for a schedule to be configured again.
            return SagaRecord(
                saga_id=saga.saga_id,
                kind=SCHEDULE_SAGA,
                step="WAITING",
                finished=False,
                wake_at=saga.wake_at,
                data={"schedule": str(saga.schedule), "nextDay": saga.next_day.isoformat()},
            )


def _saga(record: SagaRecord) -> AnySaga | None:
    data = record.data
    if record.kind == LINE_SAGA:
        corporate = _account_of(data["corporateAccount"])
        assert corporate is not None
        return LineSaga(
            saga_id=record.saga_id,
            settlement_id=data["settlementId"],
            franchise_id=data["franchiseId"],
            fee=data["fee"],
            payout=data["payout"],
            corporate_account=corporate,
            franchise_account=_account_of(data["franchiseAccount"]),
            step=Step(record.step),
            wake_at=record.wake_at,
            attempts=data["attempts"],
            settle_round=data["settleRound"],
            failure=data["failure"],
            firmbanking_request_id=data["firmbankingRequestId"],
        )
    if record.kind == RUN_SAGA:
        return RunSaga(record.saga_id, RunStep(record.step), record.wake_at, data["attempts"], data["lastFailure"])
    if record.kind == SCHEDULE_SAGA:
        return ScheduleSaga(
            Schedule.parse(data["schedule"]), date.fromisoformat(data["nextDay"]), record.wake_at, record.saga_id
        )
    return None


class SettlementUnitOfWork(SqlUnitOfWork):
    settlements: SqlSettlementRepository
    debts: SqlDebts
    sagas: SagaRepository[AnySaga]

    def _open(self) -> None:
        self.settlements = SqlSettlementRepository(self.connection)
        self.debts = SqlDebts(self.connection)
        self.sagas = SagaRepository(self.connection, _record, _saga)
        self._answers = KeptAnswers(self.connection)

    def _new_messages(self) -> Iterator[Message]:
        # Only a line's saga sends commands; a run's and the schedule's call services themselves.
        return itertools.chain(
            drain_events((saga for saga in self.sagas.seen if isinstance(saga, LineSaga)), to_message),
            drain_events(self.settlements.seen_lines, outcome_message),
        )

    async def earlier_answer(self, key: object) -> object | None:
        return await self._answers.earlier_one(key)

    async def keep_answer(self, key: object, outcome: object) -> None:
        await self._answers.keep([(key, outcome)])
