"""PostgreSQL storage of the bank's accounts and transfers (SQLAlchemy Core on asyncpg)."""

from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from pay.bank.domain.model import (
    Account,
    AccountKey,
    FailureReason,
    StatementLine,
    Transfer,
    TransferOutcome,
    TransferStatus,
)
from pay.platform.db import SqlUnitOfWork, utcnow

METADATA = sa.MetaData()

accounts = sa.Table(
    "accounts",
    METADATA,
    sa.Column("bank_name", sa.String(50), primary_key=True),
    sa.Column("bank_account_number", sa.String(40), primary_key=True),
    sa.Column("holder_name", sa.String(100), nullable=False),
    sa.Column("balance", sa.BigInteger, nullable=False),
    sa.Column("valid", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("balance >= 0", name="accounts_balance_not_negative"),
)

# `status` is NULL only inside the transaction that claims the transfer, which also records the outcome.
transfers = sa.Table(
    "transfers",
    METADATA,
    sa.Column("transfer_id", sa.String(64), primary_key=True),
    sa.Column("from_bank_name", sa.String(50), nullable=False),
    sa.Column("from_bank_account_number", sa.String(40), nullable=False),
    sa.Column("to_bank_name", sa.String(50), nullable=False),
    sa.Column("to_bank_account_number", sa.String(40), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16)),
    sa.Column("reason", sa.String(50)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("amount > 0", name="transfers_amount_positive"),
    sa.CheckConstraint("status IN ('SUCCEEDED', 'FAILED')", name="transfers_status_known"),
    # An account's statement reads its transfers both ways.
    sa.Index("transfers_from_account", "from_bank_name", "from_bank_account_number", "transfer_id"),
    sa.Index("transfers_to_account", "to_bank_name", "to_bank_account_number", "transfer_id"),
)


# One number per account, issued when a platform links the account.
fintech_uses = sa.Table(
    "fintech_uses",
    METADATA,
    sa.Column("fintech_use_num", sa.String(24), primary_key=True),
    sa.Column("bank_name", sa.String(50), nullable=False),
    sa.Column("bank_account_number", sa.String(40), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("bank_name", "bank_account_number", name="fintech_uses_account_key"),
)


def _account_key_is(key: AccountKey) -> sa.ColumnElement[bool]:
    return sa.and_(accounts.c.bank_name == key.bank_name, accounts.c.bank_account_number == key.account_number)


def _account_of(row: sa.Row[Any]) -> Account:
    return Account(AccountKey(row.bank_name, row.bank_account_number), row.holder_name, row.balance, row.valid)


class SqlAccountRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, account: Account) -> bool:
        result = await self._connection.execute(
            insert(accounts)
            .values(
                bank_name=account.key.bank_name,
                bank_account_number=account.key.account_number,
                holder_name=account.holder_name,
                balance=account.balance,
                valid=account.valid,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )
        return bool(result.rowcount)

    async def get(self, key: AccountKey) -> Account | None:
        row = (await self._connection.execute(sa.select(accounts).where(_account_key_is(key)))).one_or_none()
        return None if row is None else _account_of(row)

    async def lock(self, keys: Collection[AccountKey]) -> dict[AccountKey, Account]:
        # PostgreSQL locks the rows of `SELECT ... ORDER BY ... FOR UPDATE` in the sorted order.
        rows = await self._connection.execute(
            sa.select(accounts)
            .where(
                sa.tuple_(accounts.c.bank_name, accounts.c.bank_account_number).in_(
                    [(key.bank_name, key.account_number) for key in keys]
                )
            )
            .order_by(accounts.c.bank_name, accounts.c.bank_account_number)
            .with_for_update()
        )
        return {account.key: account for account in map(_account_of, rows)}

    async def update_balance(self, account: Account) -> None:
        await self._connection.execute(
            accounts.update().where(_account_key_is(account.key)).values(balance=account.balance)
        )


class SqlTransferRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def claim(self, transfer: Transfer) -> bool:
        # On a conflict with a claim not yet committed, PostgreSQL waits for that transaction to end.
        result = await self._connection.execute(
            insert(transfers)
            .values(
                transfer_id=transfer.transfer_id,
                from_bank_name=transfer.source.bank_name,
                from_bank_account_number=transfer.source.account_number,
                to_bank_name=transfer.destination.bank_name,
                to_bank_account_number=transfer.destination.account_number,
                amount=transfer.amount,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=[transfers.c.transfer_id])
        )
        return bool(result.rowcount)

    async def record(self, outcome: TransferOutcome) -> None:
        await self._connection.execute(
            transfers.update()
            .where(transfers.c.transfer_id == outcome.transfer_id)
            .values(status=outcome.status.value, reason=outcome.reason.value if outcome.reason else None)
        )

    async def outcome_of(self, transfer_id: str) -> TransferOutcome | None:
        row = (
            await self._connection.execute(
                sa.select(transfers.c.status, transfers.c.reason).where(transfers.c.transfer_id == transfer_id)
            )
        ).one_or_none()
        if row is None:
            return None
        return TransferOutcome(
            transfer_id, TransferStatus(row.status), FailureReason(row.reason) if row.reason else None
        )

    async def statement(self, key: AccountKey, after: str | None, limit: int) -> Sequence[StatementLine]:
        outgoing = sa.and_(
            transfers.c.from_bank_name == key.bank_name, transfers.c.from_bank_account_number == key.account_number
        )
        incoming = sa.and_(
            transfers.c.to_bank_name == key.bank_name, transfers.c.to_bank_account_number == key.account_number
        )
        statement = (
            sa.select(transfers)
            .where(transfers.c.status == TransferStatus.SUCCEEDED.value, sa.or_(outgoing, incoming))
            .order_by(transfers.c.transfer_id)
            .limit(limit)
        )
        if after is not None:
            statement = statement.where(transfers.c.transfer_id > after)
        return [_line_of(row, key) for row in await self._connection.execute(statement)]


def _line_of(row: sa.Row[Any], key: AccountKey) -> StatementLine:
    source = AccountKey(row.from_bank_name, row.from_bank_account_number)
    destination = AccountKey(row.to_bank_name, row.to_bank_account_number)
    if source == key:
        return StatementLine(row.transfer_id, destination, -row.amount, row.created_at)
    return StatementLine(row.transfer_id, source, row.amount, row.created_at)


class SqlFintechUseRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def issue(self, key: AccountKey, candidate: str) -> str:
        # Two first requests at once: the second waits for the first's row and then reads it.
        await self._connection.execute(
            insert(fintech_uses)
            .values(
                fintech_use_num=candidate,
                bank_name=key.bank_name,
                bank_account_number=key.account_number,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=[fintech_uses.c.bank_name, fintech_uses.c.bank_account_number])
        )
        number = await self._connection.scalar(
            sa.select(fintech_uses.c.fintech_use_num).where(
                fintech_uses.c.bank_name == key.bank_name, fintech_uses.c.bank_account_number == key.account_number
            )
        )
        assert number is not None, f"no fintech-use number for {key} after issuing one"
        return str(number)

    async def account_of(self, fintech_use_num: str) -> AccountKey | None:
        row = (
            await self._connection.execute(
                sa.select(fintech_uses.c.bank_name, fintech_uses.c.bank_account_number).where(
                    fintech_uses.c.fintech_use_num == fintech_use_num
                )
            )
        ).one_or_none()
        return None if row is None else AccountKey(row.bank_name, row.bank_account_number)


class BankUnitOfWork(SqlUnitOfWork):
    accounts: SqlAccountRepository
    transfers: SqlTransferRepository
    fintech_uses: SqlFintechUseRepository

    def _open(self) -> None:
        self.accounts = SqlAccountRepository(self.connection)
        self.transfers = SqlTransferRepository(self.connection)
        self.fintech_uses = SqlFintechUseRepository(self.connection)
