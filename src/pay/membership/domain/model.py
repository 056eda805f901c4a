"""Members and their refresh tokens: the rules, with no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    MEMBER = "member"
    ADMIN = "admin"


class MemberNotFound(Exception):
    pass


class EmailAlreadyRegistered(Exception):
    pass


class InvalidCredentials(Exception):
    """One answer for an unknown email, a wrong password and an invalid member, so none can be told apart."""


class InvalidRefreshToken(Exception):
    pass


class StatusChangeForbidden(Exception):
    """Only an admin or a service may make a member valid or invalid, or a merchant owner."""


@dataclass(frozen=True)
class MemberRegistered:
    membership_id: str
    address: str
    is_valid: bool
    is_corp: bool


@dataclass(frozen=True)
class MemberModified:
    membership_id: str
    old_address: str
    new_address: str
    is_valid: bool
    is_corp: bool


MemberEvent = MemberRegistered | MemberModified


@dataclass
class Member:
    membership_id: str
    name: str
    email: str
    address: str
    is_valid: bool
    is_corp: bool
    password_hash: str
    created_at: datetime
    updated_at: datetime
    role: Role = Role.MEMBER
    events: list[MemberEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def register(
        cls, membership_id: str, name: str, email: str, address: str, is_corp: bool, password_hash: str, now: datetime
    ) -> Member:
        member = cls(membership_id, name, email, address, True, is_corp, password_hash, now, now)
        member.events.append(MemberRegistered(membership_id, address, member.is_valid, is_corp))
        return member

    def modify(
        self, name: str, email: str, address: str, is_valid: bool, is_corp: bool, now: datetime, *, privileged: bool
    ) -> None:
        if not privileged and (is_valid, is_corp) != (self.is_valid, self.is_corp):
            raise StatusChangeForbidden()
        old_address = self.address
        self.name, self.email, self.address = name, email, address
        self.is_valid, self.is_corp = is_valid, is_corp
        self.updated_at = now
        self.events.append(MemberModified(self.membership_id, old_address, address, is_valid, is_corp))

    def may_log_in(self) -> bool:
        return self.is_valid


@dataclass
class RefreshToken:
    """One link of a rotation family: each refresh spends the presented token and issues the next.

    Presenting a token that was already spent means it was copied, so the whole family is revoked.
    """

    token_id: str
    family_id: str
    membership_id: str
    secret_hash: str
    expires_at: datetime
    spent_at: datetime | None = None
    revoked_at: datetime | None = None

    def is_usable(self, now: datetime) -> bool:
        return self.spent_at is None and self.revoked_at is None and now < self.expires_at

    def was_replayed(self) -> bool:
        return self.spent_at is not None or self.revoked_at is not None

    def spend(self, now: datetime) -> None:
        if not self.is_usable(now):
            raise InvalidRefreshToken()
        self.spent_at = now
