"""What the membership use cases need from the outside world."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from pay.membership.domain.model import Member, RefreshToken, Role


@dataclass(frozen=True)
class MemberPage:
    members: Sequence[Member]
    next_cursor: str | None


class MemberRepository(Protocol):
    async def add(self, member: Member) -> None:
        """Raises EmailAlreadyRegistered if the email belongs to another member."""

    async def get(self, membership_id: str) -> Member | None: ...

    async def get_by_email(self, email: str) -> Member | None: ...

    async def page_by_address(self, address: str, after: str | None, limit: int) -> MemberPage:
        """The region's members by id, after the cursor (a membership id)."""

    async def in_an_old_email_form(self, after: str, limit: int) -> Sequence[Member]:
        """Members, by id after `after`, whose email was stored before emails had one normal form."""

    async def update(self, member: Member) -> None:
        """Raises EmailAlreadyRegistered if the new email belongs to another member."""


class RefreshTokenRepository(Protocol):
    async def add(self, token: RefreshToken) -> None: ...

    async def get_for_update(self, token_id: str) -> RefreshToken | None: ...

    async def save(self, token: RefreshToken) -> None: ...

    async def revoke_family(self, family_id: str, at: datetime) -> None: ...

    async def revoke_member(self, membership_id: str, at: datetime) -> None: ...


class UnitOfWork(Protocol):
    @property
    def members(self) -> MemberRepository: ...

    @property
    def refresh_tokens(self) -> RefreshTokenRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None:
        """Keep the changes, and publish the events of the members saved in this unit of work."""


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """With no hash (unknown email) it takes as long as a real check, so timing reveals nothing, and fails."""


class AccessTokens(Protocol):
    ttl_seconds: int

    def issue(self, membership_id: str, role: Role) -> str: ...

    def subject_of(self, token: str) -> str | None:
        """The membership id a valid access token speaks for, or None."""


class Clock(Protocol):
    def __call__(self) -> datetime: ...
