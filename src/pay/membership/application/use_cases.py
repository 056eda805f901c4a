"""The membership operations, one function each."""

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from pay.membership.application.ports import AccessTokens, Clock, MemberPage, PasswordHasher, UnitOfWork
from pay.membership.domain.model import (
    AdminEmailTaken,
    EmailAlreadyRegistered,
    InvalidCredentials,
    InvalidRefreshToken,
    Member,
    MemberNotFound,
    RefreshToken,
    Role,
    normalise_email,
)


@dataclass(frozen=True)
class Dependencies:
    uow: Callable[[], UnitOfWork]
    passwords: PasswordHasher
    access_tokens: AccessTokens
    refresh_ttl: timedelta
    clock: Clock


@dataclass(frozen=True)
class RegisterMember:
    name: str
    email: str
    address: str
    password: str
    is_corp: bool


@dataclass(frozen=True)
class ModifyMember:
    membership_id: str
    name: str
    email: str
    address: str
    is_valid: bool
    is_corp: bool
    privileged: bool


@dataclass(frozen=True)
class IssuedTokens:
    membership_id: str
    access_token: str
    refresh_token: str
    expires_in: int


async def register_member(deps: Dependencies, command: RegisterMember) -> Member:
    password_hash = await deps.passwords.hash(command.password)
    member = Member.register(
        str(uuid.uuid4()), command.name, command.email, command.address, command.is_corp, password_hash, deps.clock()
    )
    async with deps.uow() as uow:
        await uow.members.add(member)
        await uow.commit()
    return member


async def ensure_admin(deps: Dependencies, email: str, password: str) -> Member:
    """The admin member configured at start-up: created as the admin once, its password kept in step with the settings.

    The admin role is never granted to a member that already holds the configured email: whoever registered
    that address first would get admin tokens from its old refresh token. Start-up refuses instead
    (`AdminEmailTaken`), so the operator chooses another email.
    """
    async with deps.uow() as uow:
        admin = await uow.members.get_by_email(email)
    if admin is not None and admin.role is not Role.ADMIN:
        raise AdminEmailTaken()
    if admin is not None and admin.is_valid and await deps.passwords.verify(admin.password_hash, password):
        return admin
    password_hash = await deps.passwords.hash(password)
    now = deps.clock()
    async with deps.uow() as uow:
        admin = await uow.members.get_by_email(email)
        if admin is None:
            admin = Member.create_admin(str(uuid.uuid4()), email, password_hash, now)
            try:
                await uow.members.add(admin)
            except EmailAlreadyRegistered:
                admin = None  # registered meanwhile, by another instance starting or by a member
        elif admin.role is not Role.ADMIN:
            raise AdminEmailTaken()
        else:
            # A new password in the settings ends the sessions opened with the old one.
            admin.password_hash, admin.is_valid, admin.updated_at = password_hash, True, now
            await uow.members.update(admin)
            await uow.refresh_tokens.revoke_member(admin.membership_id, now)
        if admin is not None:
            await uow.commit()
    # Whoever registered it meanwhile: the admin is accepted as it is, a member is refused.
    return admin if admin is not None else await ensure_admin(deps, email, password)


async def normalise_stored_emails(deps: Dependencies, batch: int = 500) -> list[str]:
    """Rewrite emails stored before they had one normal form, so they are sealed and indexed in it.

    Answers the ids of members left as they were because another member holds the same address in normal
    form: someone must decide which of the two keeps it. Idempotent, and safe to run from two instances.
    """
    left: list[str] = []
    after = ""
    while True:
        async with deps.uow() as uow:
            members = await uow.members.in_an_old_email_form(after, batch)
            if not members:
                return left
            for member in members:
                member.email = normalise_email(member.email)
                try:
                    await uow.members.update(member)
                except EmailAlreadyRegistered:
                    left.append(member.membership_id)
            await uow.commit()
        after = members[-1].membership_id


async def get_member(deps: Dependencies, membership_id: str) -> Member:
    async with deps.uow() as uow:
        member = await uow.members.get(membership_id)
    if member is None:
        raise MemberNotFound(membership_id)
    return member


async def members_by_address(deps: Dependencies, address: str, after: str | None, limit: int) -> MemberPage:
    async with deps.uow() as uow:
        return await uow.members.page_by_address(address, after, limit)


async def modify_member(deps: Dependencies, command: ModifyMember) -> Member:
    now = deps.clock()
    async with deps.uow() as uow:
        member = await uow.members.get(command.membership_id)
        if member is None:
            raise MemberNotFound(command.membership_id)
        member.modify(
            command.name,
            command.email,
            command.address,
            command.is_valid,
            command.is_corp,
            now,
            privileged=command.privileged,
        )
        await uow.members.update(member)
        await uow.refresh_tokens.revoke_member(member.membership_id, now)
        await uow.commit()
    return member


async def log_in(deps: Dependencies, email: str, password: str) -> IssuedTokens:
    async with deps.uow() as uow:
        member = await uow.members.get_by_email(email)
    password_matches = await deps.passwords.verify(member.password_hash if member else None, password)
    if member is None or not password_matches or not member.may_log_in():
        raise InvalidCredentials()
    async with deps.uow() as uow:
        tokens = await _issue(deps, uow, member, family_id=str(uuid.uuid4()))
        await uow.commit()
    return tokens


async def refresh_tokens(deps: Dependencies, presented: str) -> IssuedTokens:
    now = deps.clock()
    async with deps.uow() as uow:
        token = await _presented_token(uow, presented)
        if token is None:
            raise InvalidRefreshToken()
        if token.was_replayed():
            await uow.refresh_tokens.revoke_family(token.family_id, now)
            await uow.commit()
            raise InvalidRefreshToken()
        token.spend(now)
        await uow.refresh_tokens.save(token)
        member = await uow.members.get(token.membership_id)
        if member is None or not member.may_log_in():
            await uow.commit()
            raise InvalidRefreshToken()
        tokens = await _issue(deps, uow, member, family_id=token.family_id)
        await uow.commit()
    return tokens


async def log_out(deps: Dependencies, presented: str) -> None:
    """End the session the refresh token belongs to: its family is revoked, so neither it nor any token rotated
    from it refreshes again. A token that is not one of ours ends nothing, and says so to nobody."""
    async with deps.uow() as uow:
        token = await _presented_token(uow, presented)
        if token is None:
            return
        await uow.refresh_tokens.revoke_family(token.family_id, deps.clock())
        await uow.commit()


async def validate_access_token(deps: Dependencies, token: str) -> str | None:
    """The membership id behind a valid token of a member that is still valid, or None."""
    membership_id = deps.access_tokens.subject_of(token)
    if membership_id is None:
        return None
    async with deps.uow() as uow:
        member = await uow.members.get(membership_id)
    return membership_id if member is not None and member.is_valid else None


async def _issue(deps: Dependencies, uow: UnitOfWork, member: Member, family_id: str) -> IssuedTokens:
    secret = secrets.token_urlsafe(32)
    token = RefreshToken(
        token_id=str(uuid.uuid4()),
        family_id=family_id,
        membership_id=member.membership_id,
        secret_hash=_digest(secret),
        expires_at=deps.clock() + deps.refresh_ttl,
    )
    await uow.refresh_tokens.add(token)
    return IssuedTokens(
        member.membership_id,
        deps.access_tokens.issue(member.membership_id, member.role),
        f"{token.token_id}.{secret}",
        deps.access_tokens.ttl_seconds,
    )


async def _presented_token(uow: UnitOfWork, presented: str) -> RefreshToken | None:
    """The refresh token `presented` (`<id>.<secret>`), locked for this unit of work, if it is one of ours."""
    token_id, _, secret = presented.partition(".")
    token = await uow.refresh_tokens.get_for_update(token_id)
    if token is None or not hmac.compare_digest(token.secret_hash, _digest(secret)):
        return None
    return token


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
