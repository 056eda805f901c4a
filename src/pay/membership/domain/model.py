"""Members and their refresh tokens: the rules, with no I/O."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    MEMBER = "member"
    ADMIN = "admin"


def normalise_email(email: str) -> str:
    """The one form an email is stored and answered in: NFC local part, lower-cased NFC domain.

    The same address typed with composed or decomposed characters, or with its domain in capitals,
    is the same address.
    """
    local, at, domain = email.strip().rpartition("@")
    if not at:
        return unicodedata.normalize("NFC", email.strip())
    return f"{unicodedata.normalize('NFC', local)}@{unicodedata.normalize('NFC', domain).lower()}"


def email_key(email: str) -> str:
    """What two emails are compared by (and the blind index is computed on): the normal form, lower-cased.

    Uniqueness stays case-insensitive in the local part too (decision 6), and for an address already in
    normal form the key is its lower-cased text, as before normalisation existed.
    """
    return normalise_email(email).lower()


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


class AdminMustStay(Exception):
    """The admin may not be made invalid, nor its email changed, by anyone: that would lock every operator out."""


class AdminEmailTaken(Exception):
    """The configured admin email belongs to a member that is not the admin.

    The admin is created as the admin; it is never granted to an existing member by its email, since
    whoever registered that address first would then hold admin tokens.
    """

    def __init__(self) -> None:
        super().__init__(
            "PAY_ADMIN_EMAIL is the email of an existing member that is not the admin; the admin role is never "
            "granted to an existing member. Choose another PAY_ADMIN_EMAIL (an address no member has registered)."
        )


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
        member = cls(membership_id, name, normalise_email(email), address, True, is_corp, password_hash, now, now)
        member.events.append(MemberRegistered(membership_id, address, member.is_valid, is_corp))
        return member

    @classmethod
    def create_admin(cls, membership_id: str, email: str, password_hash: str, now: datetime) -> Member:
        """The admin exists only by being created as such: no member ever becomes admin later."""
        admin = cls.register(membership_id, "Administrator", email, "-", False, password_hash, now)
        admin.role = Role.ADMIN
        return admin

    def modify(
        self, name: str, email: str, address: str, is_valid: bool, is_corp: bool, now: datetime, *, privileged: bool
    ) -> None:
        if not privileged and (is_valid, is_corp) != (self.is_valid, self.is_corp):
            raise StatusChangeForbidden()
        if self.role is Role.ADMIN and (not is_valid or email_key(email) != email_key(self.email)):
            raise AdminMustStay()
        old_address = self.address
        self.name, self.email, self.address = name, normalise_email(email), address
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
