"""Money's tables, repositories and unit of work (SQLAlchemy Core on asyncpg)."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pay.money.adapters.messaging import firmbanking_command
from pay.money.application.ports import ChangedMeanwhile, HistoryPage
from pay.money.domain.processes import BankAccount, BankTransfer, MoneyProcess, ProcessKind, Step
from pay.money.domain.requests import ChangeStatus, ChangeType, MoneyChangingRequest
from pay.money.domain.wallet import Wallet, WalletAlreadyExists, WalletEvent, WalletEventKind
from pay.platform.db import SqlUnitOfWork, as_rows, rows_parameter, utcnow
from pay.platform.idempotency.kept import ANSWERS_PARAMETER, STORE_ANSWERED_KEYS_SQL, KeptAnswers
from pay.platform.saga import SagaRecord, SagaStore

metadata = sa.MetaData()

wallets = sa.Table(
    "wallets",
    metadata,
    sa.Column("membership_id", sa.String(64), primary_key=True),
    sa.Column("balance", sa.BigInteger, nullable=False),
    sa.Column("held", sa.BigInteger, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("holds", JSONB, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("held >= 0 AND held <= balance", name="wallet_never_negative"),
)

wallet_events = sa.Table(
    "wallet_events",
    metadata,
    sa.Column("membership_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
)

requests = sa.Table(
    "money_changing_requests",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("change_type", sa.String(20), nullable=False),
    sa.Column("target_membership_id", sa.String(64), nullable=False, index=True),
    sa.Column("counterpart_membership_id", sa.String(64)),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reason", sa.String(500)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


# Groups of rows go in as one JSON document each (`rows_parameter`), one statement part per table; the
# parts are joined as data-modifying CTEs so that whatever changes together is written in one round
# trip. Every changed wallet is guarded by the version it was read at, and its journal takes each
# version only once (its primary key), so a write based on an outdated wallet fails whole. Inserted rows
# are taken whole (`SELECT *` of the table's row type), so a column added later must be given here: a
# missing key is NULL, not the column's default.
_EVENTS_SQL = """
    INSERT INTO wallet_events SELECT * FROM json_populate_recordset(NULL::wallet_events, CAST(:events AS json))
"""
# Every wallet a write changes is locked in key order first, as `_LOCK_WALLETS` does, so a write of
# wallets read without a lock cannot deadlock with another. PostgreSQL runs the data-modifying parts of
# a statement after its main part, so the journal is written only under these locks.
_LOCKED_SQL = """
    locked AS MATERIALIZED (
        SELECT membership_id FROM wallets
        WHERE membership_id = ANY(
            ARRAY(SELECT l.membership_id FROM json_to_recordset(CAST(:folds AS json)) AS l(membership_id text))
        )
        ORDER BY membership_id
        FOR UPDATE
    )
"""
_FOLDS_SQL = """
    UPDATE wallets AS w
    SET balance = f.balance, held = f.held, version = f.version, holds = f.holds, updated_at = :now
    FROM json_to_recordset(CAST(:folds AS json))
        AS f(membership_id text, balance bigint, held bigint, version int, read_version int, holds jsonb)
    WHERE w.membership_id = f.membership_id AND w.version = f.read_version
        AND w.membership_id = ANY(ARRAY(SELECT membership_id FROM locked))
    RETURNING w.membership_id
"""
_REQUESTS_SQL = """
    INSERT INTO money_changing_requests
    SELECT * FROM json_populate_recordset(NULL::money_changing_requests, CAST(:requests AS json))
"""
_WALLET_PARAMETERS = (
    rows_parameter("events"),
    rows_parameter("folds"),
    sa.bindparam("now", type_=sa.DateTime(timezone=True)),
)

_APPEND_EVENTS = sa.text(_EVENTS_SQL).bindparams(rows_parameter("events"))
_SAVE_WALLETS = sa.text(f"WITH appended AS ({_EVENTS_SQL}), {_LOCKED_SQL} {_FOLDS_SQL}").bindparams(*_WALLET_PARAMETERS)
_ADD_REQUESTS = sa.text(_REQUESTS_SQL).bindparams(rows_parameter("requests"))
_SAVE_TRANSFERS = sa.text(
    f"WITH appended AS ({_EVENTS_SQL}), added AS ({_REQUESTS_SQL}), answered AS ({STORE_ANSWERED_KEYS_SQL}), "
    f"{_LOCKED_SQL} {_FOLDS_SQL}"
).bindparams(*_WALLET_PARAMETERS, rows_parameter("requests"), ANSWERS_PARAMETER)

_READ_WALLETS = (
    wallets.select()
    .where(wallets.c.membership_id == sa.func.any(sa.bindparam("ids", type_=ARRAY(sa.String))))
    .order_by(wallets.c.membership_id)
)
# Locking in key order means two transfers in opposite directions can never deadlock.
_LOCK_WALLETS = _READ_WALLETS.with_for_update()

# The failures of a wallet write that mean another transaction came first: a journal version or a key
# taken meanwhile (unique violation), or a deadlock over keys two requests with the same keys raced for.
_CHANGED_MEANWHILE = {"23505", "40P01"}


class WalletMemory:
    """The wallets as this process last read or wrote them, for `SqlWalletRepository.latest`.

    Shared by every unit of work of the process. What it holds is only a guess: the journal refuses a
    write based on an outdated wallet, for instance one another process of the service changed.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self._wallets: dict[str, tuple[int, int, int, dict[str, int]]] = {}
        self._capacity = capacity

    def recall(self, membership_ids: Sequence[str]) -> dict[str, Wallet]:
        recalled = {}
        for membership_id in membership_ids:
            if (known := self._wallets.get(membership_id)) is not None:
                balance, held, version, holds = known
                recalled[membership_id] = Wallet(membership_id, balance, held, version, dict(holds))
        return recalled

    def remember(self, wallets: Iterable[Wallet]) -> None:
        for wallet in wallets:
            self._wallets.pop(wallet.membership_id, None)
            self._wallets[wallet.membership_id] = (wallet.balance, wallet.held, wallet.version, dict(wallet.holds))
        while len(self._wallets) > self._capacity:
            del self._wallets[next(iter(self._wallets))]  # the least recently remembered

    def forget(self, membership_ids: Iterable[str]) -> None:
        for membership_id in membership_ids:
            self._wallets.pop(membership_id, None)


class SqlWalletRepository:
    def __init__(self, connection: AsyncConnection, memory: WalletMemory) -> None:
        self._connection = connection
        self._memory = memory
        # What this unit of work wrote, remembered once it commits; and every wallet it tried to write,
        # forgotten if it does not. After a failed write it must not commit (`MoneyUnitOfWork.commit`).
        self.written: list[Wallet] = []
        self.tried: list[Wallet] = []

    async def add(self, wallet: Wallet) -> None:
        inserted = await self._connection.execute(
            insert(wallets).values(**_snapshot(wallet), updated_at=utcnow()).on_conflict_do_nothing()
        )
        if not inserted.rowcount:
            raise WalletAlreadyExists(wallet.membership_id)
        await self._append(wallet)
        self.tried.append(wallet)
        self.written.append(wallet)

    async def get(self, membership_id: str) -> Wallet | None:
        statement = wallets.select().where(wallets.c.membership_id == membership_id)
        row = (await self._connection.execute(statement)).first()
        return _wallet(row) if row is not None else None

    async def lock(self, membership_ids: Sequence[str]) -> Mapping[str, Wallet]:
        return await self._read(_LOCK_WALLETS, membership_ids)

    async def latest(self, membership_ids: Sequence[str]) -> Mapping[str, Wallet]:
        found = self._memory.recall(membership_ids)
        if unknown := [membership_id for membership_id in membership_ids if membership_id not in found]:
            found.update(await self._read(_READ_WALLETS, unknown))
        return found

    async def _read(self, statement: sa.Select[Any], membership_ids: Sequence[str]) -> dict[str, Wallet]:
        read = [_wallet(row) for row in await self._connection.execute(statement, {"ids": list(membership_ids)})]
        self._memory.remember(read)
        return {wallet.membership_id: wallet for wallet in read}

    async def save(self, *changed: Wallet) -> None:
        if changed:
            await self.write(_SAVE_WALLETS, _wallet_values(changed), changed)

    async def write(self, statement: sa.TextClause, values: Mapping[str, Any], changed: Sequence[Wallet]) -> None:
        """Run a statement that saves these wallets; `ChangedMeanwhile` if another transaction came first."""
        self.tried += changed
        try:
            result = await self._connection.execute(statement, values)
        except sa.exc.DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) in _CHANGED_MEANWHILE:
                raise ChangedMeanwhile() from error
            raise
        _check_saved(changed, set(result.scalars()))
        self.written += changed

    @property
    def write_failed(self) -> bool:
        """Some wallets were tried and never written: a write of this unit of work failed."""
        return len(self.tried) > len(self.written)

    async def _append(self, *changed: Wallet) -> None:
        await self._connection.execute(_APPEND_EVENTS, {"events": _event_rows(changed)})

    async def balances(self, membership_ids: Sequence[str]) -> Mapping[str, int]:
        statement = sa.select(wallets.c.membership_id, wallets.c.balance - wallets.c.held).where(
            wallets.c.membership_id.in_(membership_ids)
        )
        return {membership_id: int(available) for membership_id, available in await self._connection.execute(statement)}

    async def history(
        self, membership_id: str, since: datetime | None, until: datetime | None, cursor: str | None, limit: int
    ) -> HistoryPage:
        statement = wallet_events.select().where(
            wallet_events.c.membership_id == membership_id, wallet_events.c.kind != WalletEventKind.OPENED.value
        )
        if cursor is not None:
            statement = statement.where(wallet_events.c.version < int(cursor))
        if since is not None:
            statement = statement.where(wallet_events.c.occurred_at >= since)
        if until is not None:
            statement = statement.where(wallet_events.c.occurred_at < until)
        rows = (
            await self._connection.execute(statement.order_by(wallet_events.c.version.desc()).limit(limit + 1))
        ).all()
        events = [_event(row) for row in rows[:limit]]
        return HistoryPage(events, str(events[-1].version) if len(rows) > limit else None)

    async def membership_ids(self) -> Sequence[str]:
        return list((await self._connection.execute(sa.select(wallets.c.membership_id))).scalars())

    async def journal(self, membership_id: str) -> Sequence[WalletEvent]:
        statement = (
            wallet_events.select()
            .where(wallet_events.c.membership_id == membership_id)
            .order_by(wallet_events.c.version)
        )
        return [_event(row) for row in await self._connection.execute(statement)]

    async def totals(self) -> tuple[int, int, int]:
        statement = sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(wallets.c.balance), 0),
            sa.func.coalesce(sa.func.sum(wallets.c.held), 0),
        )
        count, balance, held = (await self._connection.execute(statement)).one()
        return int(count), int(balance), int(held)


def _event_rows(changed: Sequence[Wallet]) -> str:
    return as_rows(
        [
            {
                "membership_id": event.membership_id,
                "version": event.version,
                "kind": event.kind.value,
                "amount": event.amount,
                "request_id": event.request_id,
                "occurred_at": event.occurred_at,
            }
            for wallet in changed
            for event in wallet.changes
        ]
    )


def _wallet_values(changed: Sequence[Wallet]) -> dict[str, Any]:
    """The new events of these wallets and the balances they lead to."""
    folds = [
        {
            "membership_id": w.membership_id,
            "balance": w.balance,
            "held": w.held,
            "version": w.version,
            "read_version": w.version - len(w.changes),
            "holds": w.holds,
        }
        for w in changed
    ]
    return {"events": _event_rows(changed), "folds": as_rows(folds), "now": utcnow()}


def _check_saved(changed: Sequence[Wallet], updated: set[str]) -> None:
    for wallet in changed:
        if wallet.membership_id not in updated:
            raise ChangedMeanwhile(wallet.membership_id)
        wallet.changes.clear()


def _request_rows(added: Sequence[MoneyChangingRequest]) -> str:
    return as_rows([_request_columns(request) for request in added])


def _snapshot(wallet: Wallet) -> dict[str, Any]:
    return {
        "membership_id": wallet.membership_id,
        "balance": wallet.balance,
        "held": wallet.held,
        "version": wallet.version,
        "holds": wallet.holds,
    }


def _wallet(row: sa.Row[Any]) -> Wallet:
    return Wallet(row.membership_id, row.balance, row.held, row.version, dict(row.holds))


def _event(row: sa.Row[Any]) -> WalletEvent:
    return WalletEvent(
        row.membership_id, row.version, WalletEventKind(row.kind), row.amount, row.request_id, row.occurred_at
    )


class SqlRequestRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, *added: MoneyChangingRequest) -> None:
        await self._connection.execute(_ADD_REQUESTS, {"requests": _request_rows(added)})

    async def get(self, request_id: str, *, for_update: bool = False) -> MoneyChangingRequest | None:
        statement = requests.select().where(requests.c.request_id == request_id)
        row = (await self._connection.execute(statement.with_for_update() if for_update else statement)).first()
        if row is None:
            return None
        return MoneyChangingRequest(
            request_id=row.request_id,
            change_type=ChangeType(row.change_type),
            target_membership_id=row.target_membership_id,
            amount=row.amount,
            status=ChangeStatus(row.status),
            created_at=row.created_at,
            updated_at=row.updated_at,
            counterpart_membership_id=row.counterpart_membership_id,
            reason=row.reason,
        )

    async def save(self, request: MoneyChangingRequest) -> None:
        statement = requests.update().where(requests.c.request_id == request.request_id)
        await self._connection.execute(statement.values(**_request_columns(request)))

    async def count_pending(self) -> int:
        statement = sa.select(sa.func.count()).where(requests.c.status == ChangeStatus.REQUESTED.value)
        return int((await self._connection.execute(statement)).scalar_one())


def _request_columns(request: MoneyChangingRequest) -> dict[str, Any]:
    return {
        "request_id": request.request_id,
        "change_type": request.change_type.value,
        "target_membership_id": request.target_membership_id,
        "counterpart_membership_id": request.counterpart_membership_id,
        "amount": request.amount,
        "status": request.status.value,
        "reason": request.reason,
        "created_at": request.created_at,
        "updated_at": request.updated_at,
    }


class SqlProcessRepository:
    """Money's processes as rows of the kernel's saga table."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._store = SagaStore(connection)
        self._connection = connection

    async def add(self, process: MoneyProcess) -> None:
        await self._store.add(_record(process))

    async def lock(self, process_id: str, *, skip_locked: bool = False) -> MoneyProcess | None:
        record = await self._store.lock(process_id, skip_locked=skip_locked)
        return _process(record) if record is not None else None

    async def save(self, process: MoneyProcess) -> None:
        await self._store.save(_record(process))

    async def count_unfinished(self) -> int:
        return await self._store.count_unfinished()


def _account(account: BankAccount | None) -> dict[str, str] | None:
    return None if account is None else {"bankName": account.bank_name, "accountNumber": account.account_number}


def _account_of(data: dict[str, str] | None) -> BankAccount | None:
    return None if data is None else BankAccount(data["bankName"], data["accountNumber"])


def _record(process: MoneyProcess) -> SagaRecord:
    return SagaRecord(
        saga_id=process.process_id,
        kind=process.kind.value,
        step=process.step.value,
        finished=process.is_finished,
        wake_at=process.wake_at,
        data={
            "requestId": process.request_id,
            "membershipId": process.membership_id,
            "amount": process.amount,
            "corporateAccount": _account(process.corporate_account),
            "memberAccount": _account(process.member_account),
            "startedAt": process.started_at.isoformat(),
            "attempts": process.attempts,
            "failure": process.failure,
        },
    )


def _process(record: SagaRecord) -> MoneyProcess:
    data = record.data
    corporate = _account_of(data["corporateAccount"])
    assert corporate is not None
    return MoneyProcess(
        process_id=record.saga_id,
        kind=ProcessKind(record.kind),
        request_id=data["requestId"],
        membership_id=data["membershipId"],
        amount=data["amount"],
        corporate_account=corporate,
        step=Step(record.step),
        started_at=datetime.fromisoformat(data["startedAt"]),
        wake_at=record.wake_at,
        attempts=data["attempts"],
        member_account=_account_of(data["memberAccount"]),
        failure=data["failure"],
    )


class MoneyUnitOfWork(SqlUnitOfWork):
    wallets: SqlWalletRepository
    requests: SqlRequestRepository
    processes: SqlProcessRepository

    def __init__(self, engine: AsyncEngine, on_commit: Callable[[], None], memory: WalletMemory) -> None:
        super().__init__(engine, on_commit)
        self._memory = memory
        self._committed = False

    def _open(self) -> None:
        self._answers = KeptAnswers(self.connection)
        self.wallets = SqlWalletRepository(self.connection, self._memory)
        self.requests = SqlRequestRepository(self.connection)
        self.processes = SqlProcessRepository(self.connection)

    async def first_delivery(self, consumer: str, message_id: str) -> bool:
        return await self.inbox.first_delivery(consumer, message_id)

    async def request_bank_transfer(self, process_id: str, transfer: BankTransfer) -> None:
        await self.outbox.add(firmbanking_command(process_id, transfer))

    async def commit(self) -> None:
        if self.wallets.write_failed:
            # PostgreSQL would quietly roll the transaction back, and the memory would get ahead of it.
            raise ChangedMeanwhile("a wallet write of this unit of work failed: it cannot commit")
        await super().commit()
        self._committed = True
        self._memory.remember(self.wallets.written)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await super().__aexit__(exc_type, exc, tb)
        finally:
            if not self._committed:
                self._memory.forget(wallet.membership_id for wallet in self.wallets.tried)

    async def earlier_answers(self, keys: Sequence[object]) -> Sequence[object | Exception | None]:
        return await self._answers.earlier(keys)

    async def save_transfers(
        self,
        added: Sequence[MoneyChangingRequest],
        changed: Sequence[Wallet],
        answers: Sequence[tuple[object, object]],
    ) -> None:
        values = {
            **_wallet_values(changed),
            "requests": _request_rows(added),
            "answers": self._answers.answer_rows(answers),
        }
        await self.wallets.write(_SAVE_TRANSFERS, values, changed)
