"""Membership's tables, repositories and unit of work (SQLAlchemy Core on asyncpg)."""

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pay.contracts.messages import Message
from pay.membership.adapters.messaging import to_message
from pay.membership.adapters.security import EmailVault
from pay.membership.application.ports import MemberPage
from pay.membership.domain.model import EmailAlreadyRegistered, Member, RefreshToken, Role
from pay.platform.db import SqlUnitOfWork, drain_events
from pay.platform.paging import cut_page

metadata = sa.MetaData()

members = sa.Table(
    "members",
    metadata,
    sa.Column("membership_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("email_sealed", sa.LargeBinary, nullable=False),
    sa.Column("email_index", sa.LargeBinary(32), nullable=False, unique=True),
    sa.Column("address", sa.String(100), nullable=False, index=True),
    sa.Column("is_valid", sa.Boolean, nullable=False),
    sa.Column("is_corp", sa.Boolean, nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # The normal form email_sealed and email_index were written in (EMAIL_FORM; 0: before normalisation).
    sa.Column("email_form", sa.SmallInteger, nullable=False),
)

# Rows of an older form are rewritten at start-up (use_cases.normalise_stored_emails).
EMAIL_FORM = 1

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_id", sa.String(64), primary_key=True),
    sa.Column("family_id", sa.String(64), nullable=False, index=True),
    sa.Column("membership_id", sa.String(64), nullable=False, index=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("spent_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)


class SqlMemberRepository:
    def __init__(self, connection: AsyncConnection, vault: EmailVault) -> None:
        self._connection = connection
        self._vault = vault
        self.seen: list[Member] = []

    async def add(self, member: Member) -> None:
        await self._write(members.insert().values(membership_id=member.membership_id, **self._columns(member)))
        self.seen.append(member)

    async def update(self, member: Member) -> None:
        statement = members.update().where(members.c.membership_id == member.membership_id)
        await self._write(statement.values(**self._columns(member)))
        self.seen.append(member)

    async def get(self, membership_id: str) -> Member | None:
        return await self._one(members.c.membership_id == membership_id)

    async def get_by_email(self, email: str) -> Member | None:
        return await self._one(members.c.email_index == self._vault.index(email))

    async def in_an_old_email_form(self, after: str, limit: int) -> Sequence[Member]:
        statement = (
            members.select()
            .where(members.c.email_form < EMAIL_FORM, members.c.membership_id > after)
            .order_by(members.c.membership_id)
            .limit(limit)
        )
        return [self._member(row) for row in (await self._connection.execute(statement)).all()]

    async def page_by_address(self, address: str, after: str | None, limit: int) -> MemberPage:
        # Keyset on the primary key: a member is on exactly one page however the pages are cut.
        statement = members.select().where(members.c.address == address)
        if after is not None:
            statement = statement.where(members.c.membership_id > after)
        statement = statement.order_by(members.c.membership_id).limit(limit + 1)
        rows = (await self._connection.execute(statement)).all()
        page, next_cursor = cut_page(rows, limit, lambda row: str(row.membership_id))
        return MemberPage([self._member(row) for row in page], next_cursor)

    async def _write(self, statement: sa.Executable) -> None:
        try:
            async with self._connection.begin_nested():
                await self._connection.execute(statement)
        except IntegrityError as error:
            raise EmailAlreadyRegistered() from error

    async def _one(self, condition: sa.ColumnElement[bool]) -> Member | None:
        row = (await self._connection.execute(members.select().where(condition))).one_or_none()
        return self._member(row) if row is not None else None

    def _columns(self, member: Member) -> dict[str, object]:
        return {
            "name": member.name,
            "email_sealed": self._vault.encrypt(member.email, member.membership_id),
            "email_index": self._vault.index(member.email),
            "address": member.address,
            "is_valid": member.is_valid,
            "is_corp": member.is_corp,
            "role": member.role.value,
            "password_hash": member.password_hash,
            "created_at": member.created_at,
            "updated_at": member.updated_at,
            "email_form": EMAIL_FORM,
        }

    def _member(self, row: sa.Row[tuple[object, ...]]) -> Member:
        return Member(
            membership_id=row.membership_id,
            name=row.name,
            email=self._vault.decrypt(row.email_sealed, row.membership_id),
            address=row.address,
            is_valid=row.is_valid,
            is_corp=row.is_corp,
            password_hash=row.password_hash,
            created_at=row.created_at,
            updated_at=row.updated_at,
            role=Role(row.role),
        )


class SqlRefreshTokenRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, token: RefreshToken) -> None:
        await self._connection.execute(refresh_tokens.insert().values(**vars(token)))

    async def get_for_update(self, token_id: str) -> RefreshToken | None:
        statement = refresh_tokens.select().where(refresh_tokens.c.token_id == token_id).with_for_update()
        row = (await self._connection.execute(statement)).one_or_none()
        return RefreshToken(**row._asdict()) if row is not None else None

    async def save(self, token: RefreshToken) -> None:
        statement = refresh_tokens.update().where(refresh_tokens.c.token_id == token.token_id)
        await self._connection.execute(statement.values(spent_at=token.spent_at, revoked_at=token.revoked_at))

    async def revoke_family(self, family_id: str, at: datetime) -> None:
        await self._revoke(refresh_tokens.c.family_id == family_id, at)

    async def revoke_member(self, membership_id: str, at: datetime) -> None:
        await self._revoke(refresh_tokens.c.membership_id == membership_id, at)

    async def _revoke(self, condition: sa.ColumnElement[bool], at: datetime) -> None:
        statement = refresh_tokens.update().where(condition, refresh_tokens.c.revoked_at.is_(None))
        await self._connection.execute(statement.values(revoked_at=at))


class MembershipUnitOfWork(SqlUnitOfWork):
    members: SqlMemberRepository
    refresh_tokens: SqlRefreshTokenRepository

    def __init__(self, engine: AsyncEngine, vault: EmailVault, on_commit: Callable[[], None]) -> None:
        super().__init__(engine, on_commit)
        self._vault = vault

    def _open(self) -> None:
        self.members = SqlMemberRepository(self.connection, self._vault)
        self.refresh_tokens = SqlRefreshTokenRepository(self.connection)

    def _new_messages(self) -> Iterator[Message]:
        return drain_events(self.members.seen, to_message)
