"""Banking's tables, repositories and unit of work (SQLAlchemy Core on asyncpg)."""

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from pay.banking.adapters.messaging import to_message
from pay.banking.domain.model import (
    AccountAlreadyLinked,
    AccountRef,
    FirmbankingRequest,
    FirmbankingStatus,
    MemberAlreadyLinked,
    RegisteredBankAccount,
    TransferOrder,
)
from pay.contracts.messages import Message
from pay.platform.db import SqlUnitOfWork, drain_events
from pay.platform.idempotency.kept import KeptAnswers
from pay.platform.saga import SagaRecord, SagaStore, sagas

metadata = sa.MetaData()

registered_bank_accounts = sa.Table(
    "registered_bank_accounts",
    metadata,
    sa.Column("registered_bank_account_id", sa.String(64), primary_key=True),
    sa.Column("membership_id", sa.String(64), nullable=False, unique=True),
    sa.Column("bank_name", sa.String(50), nullable=False),
    sa.Column("bank_account_number", sa.String(40), nullable=False),
    sa.Column("linked_status_is_valid", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # NULL for a link made before the bank issued fintech-use numbers, until its first use.
    sa.Column("fintech_use_num", sa.String(24), unique=True),
    sa.UniqueConstraint("bank_name", "bank_account_number", name="registered_bank_accounts_account_key"),
)

firmbanking_requests = sa.Table(
    "firmbanking_requests",
    metadata,
    sa.Column("firmbanking_request_id", sa.String(64), primary_key=True),
    sa.Column("transfer_id", sa.String(64), nullable=False, unique=True),
    sa.Column("from_bank_name", sa.String(50), nullable=False),
    sa.Column("from_bank_account_number", sa.String(40), nullable=False, index=True),
    # How the source goes to the bank when it is a linked account.
    sa.Column("from_fintech_use_num", sa.String(24)),
    sa.Column("to_bank_name", sa.String(50), nullable=False),
    sa.Column("to_bank_account_number", sa.String(40), nullable=False, index=True),
    sa.Column("money_amount", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("external_transaction_id", sa.String(64)),
    sa.Column("correlation_id", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("money_amount > 0", name="firmbanking_requests_amount_positive"),
    sa.CheckConstraint("status IN ('REQUESTED', 'SUCCEEDED', 'FAILED')", name="firmbanking_requests_status_known"),
    sa.CheckConstraint("(status = 'FAILED') = (reason IS NOT NULL)", name="firmbanking_requests_failed_has_reason"),
)

# The kind of banking's rows in the kernel's saga table, one per firm banking request, under the request's id.
FIRMBANKING_SAGA = "firmbanking"


class SqlLinkedAccountRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, link: RegisteredBankAccount) -> None:
        statement = registered_bank_accounts.insert().values(
            registered_bank_account_id=link.registered_bank_account_id,
            membership_id=link.membership_id,
            bank_name=link.account.bank_name,
            bank_account_number=link.account.bank_account_number,
            linked_status_is_valid=link.linked_status_is_valid,
            created_at=link.created_at,
            fintech_use_num=link.fintech_use_num,
        )
        try:
            async with self._connection.begin_nested():
                await self._connection.execute(statement)
        except IntegrityError as error:
            # Asking again tells which rule was broken without depending on the driver's error details.
            if await self.of_account(link.account) is not None:
                raise AccountAlreadyLinked(str(link.account)) from error
            raise MemberAlreadyLinked(link.membership_id) from error

    async def of_member(self, membership_id: str) -> RegisteredBankAccount | None:
        return await self._one(registered_bank_accounts.c.membership_id == membership_id)

    async def of_account(self, account: AccountRef) -> RegisteredBankAccount | None:
        return await self._one(
            registered_bank_accounts.c.bank_name == account.bank_name,
            registered_bank_accounts.c.bank_account_number == account.bank_account_number,
        )

    async def keep_fintech_use(self, registered_bank_account_id: str, fintech_use_num: str) -> None:
        await self._connection.execute(
            registered_bank_accounts.update()
            .where(registered_bank_accounts.c.registered_bank_account_id == registered_bank_account_id)
            .values(fintech_use_num=fintech_use_num)
        )

    async def _one(self, *conditions: sa.ColumnElement[bool]) -> RegisteredBankAccount | None:
        statement = registered_bank_accounts.select().where(*conditions)
        row = (await self._connection.execute(statement)).one_or_none()
        if row is None:
            return None
        return RegisteredBankAccount(
            registered_bank_account_id=row.registered_bank_account_id,
            membership_id=row.membership_id,
            account=AccountRef(row.bank_name, row.bank_account_number),
            linked_status_is_valid=row.linked_status_is_valid,
            created_at=row.created_at,
            fintech_use_num=row.fintech_use_num,
        )


class SqlFirmbankingRequestRepository:
    """Each request is a row of `firmbanking_requests`, what the API reads, and its saga in the kernel's table,
    which schedules its checks. The saga's row is the lock: whoever changes a request holds it."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        self._sagas = SagaStore(connection)
        self.seen: list[FirmbankingRequest] = []

    async def claim_transfer(self, request: FirmbankingRequest) -> FirmbankingRequest:
        # A claim of the same transfer id not yet committed makes PostgreSQL wait for it to end.
        order = request.order
        statement = (
            insert(firmbanking_requests)
            .values(
                firmbanking_request_id=request.firmbanking_request_id,
                transfer_id=order.transfer_id,
                from_bank_name=order.source.bank_name,
                from_bank_account_number=order.source.bank_account_number,
                from_fintech_use_num=order.source_fintech_use_num,
                to_bank_name=order.destination.bank_name,
                to_bank_account_number=order.destination.bank_account_number,
                money_amount=order.amount,
                correlation_id=request.correlation_id,
                created_at=request.created_at,
                **self._state(request),
            )
            .on_conflict_do_nothing(index_elements=[firmbanking_requests.c.transfer_id])
        )
        if (await self._connection.execute(statement)).rowcount:
            await self._sagas.add(_saga_of(request))
            self.seen.append(request)
            return request
        holder_id = await self._connection.scalar(
            sa.select(firmbanking_requests.c.firmbanking_request_id).where(
                firmbanking_requests.c.transfer_id == order.transfer_id
            )
        )
        holder = None if holder_id is None else await self.lock(holder_id)
        assert holder is not None, f"transfer {order.transfer_id} conflicted with no stored request"
        return holder

    async def get(self, firmbanking_request_id: str) -> FirmbankingRequest | None:
        request_id = firmbanking_requests.c.firmbanking_request_id
        statement = _requests_with_sagas().where(request_id == firmbanking_request_id)
        row = (await self._connection.execute(statement)).one_or_none()
        return None if row is None else _request_of(row)

    async def lock(self, firmbanking_request_id: str, *, skip_locked: bool = False) -> FirmbankingRequest | None:
        if await self._sagas.lock(firmbanking_request_id, skip_locked=skip_locked) is None:
            return None
        return await self.get(firmbanking_request_id)

    async def touching(
        self, bank_account_number: str, bank_name: str | None, limit: int
    ) -> Sequence[FirmbankingRequest]:
        table = firmbanking_requests.c
        source = [table.from_bank_account_number == bank_account_number]
        destination = [table.to_bank_account_number == bank_account_number]
        if bank_name is not None:
            source.append(table.from_bank_name == bank_name)
            destination.append(table.to_bank_name == bank_name)
        statement = (
            _requests_with_sagas()
            .where(sa.or_(sa.and_(*source), sa.and_(*destination)))
            .order_by(table.created_at.desc(), table.firmbanking_request_id)
            .limit(limit)
        )
        return [_request_of(row) for row in await self._connection.execute(statement)]

    async def save(self, request: FirmbankingRequest) -> None:
        statement = firmbanking_requests.update().where(
            firmbanking_requests.c.firmbanking_request_id == request.firmbanking_request_id
        )
        await self._connection.execute(statement.values(**self._state(request)))
        await self._sagas.save(_saga_of(request))
        self.seen.append(request)

    @staticmethod
    def _state(request: FirmbankingRequest) -> dict[str, Any]:
        return {
            "status": request.status.value,
            "reason": request.reason,
            "external_transaction_id": request.external_transaction_id,
            "updated_at": request.updated_at,
        }


def _saga_of(request: FirmbankingRequest) -> SagaRecord:
    return SagaRecord(
        saga_id=request.firmbanking_request_id,
        kind=FIRMBANKING_SAGA,
        step=request.status.value,
        finished=request.is_settled,
        data={"checks": request.checks},
        wake_at=request.wake_at,
    )


def _requests_with_sagas() -> sa.Select[Any]:
    return sa.select(firmbanking_requests, sagas.c.wake_at, sagas.c.data).join_from(
        firmbanking_requests, sagas, sagas.c.saga_id == firmbanking_requests.c.firmbanking_request_id
    )


def _request_of(row: sa.Row[Any]) -> FirmbankingRequest:
    return FirmbankingRequest(
        firmbanking_request_id=row.firmbanking_request_id,
        order=TransferOrder(
            row.transfer_id,
            AccountRef(row.from_bank_name, row.from_bank_account_number),
            AccountRef(row.to_bank_name, row.to_bank_account_number),
            row.money_amount,
            row.from_fintech_use_num,
        ),
        status=FirmbankingStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        wake_at=row.wake_at,
        checks=row.data["checks"],
        reason=row.reason,
        external_transaction_id=row.external_transaction_id,
        correlation_id=row.correlation_id,
    )


class BankingUnitOfWork(SqlUnitOfWork):
    accounts: SqlLinkedAccountRepository
    requests: SqlFirmbankingRequestRepository

    def _open(self) -> None:
        self.accounts = SqlLinkedAccountRepository(self.connection)
        self.requests = SqlFirmbankingRequestRepository(self.connection)
        self._answers = KeptAnswers(self.connection)

    async def earlier_answer(self, key: object) -> object | None:
        return await self._answers.earlier_one(key)

    async def keep_answer(self, key: object, outcome: object) -> None:
        await self._answers.keep([(key, outcome)])

    def _new_messages(self) -> Iterator[Message]:
        return drain_events(self.requests.seen, to_message)
