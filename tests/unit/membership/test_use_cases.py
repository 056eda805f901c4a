"""The membership use cases against in-memory fakes of their ports."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

import pytest

from pay.membership.application import use_cases
from pay.membership.application.ports import MemberPage
from pay.membership.domain.model import (
    AdminEmailTaken,
    AdminMustStay,
    EmailAlreadyRegistered,
    InvalidCredentials,
    InvalidRefreshToken,
    Member,
    MemberEvent,
    MemberModified,
    MemberNotFound,
    RefreshToken,
    Role,
    email_key,
)
from pay.platform.paging import cut_page

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class FakeMembers:
    def __init__(self) -> None:
        self.rows: dict[str, Member] = {}

    async def add(self, member: Member) -> None:
        if any(email_key(other.email) == email_key(member.email) for other in self.rows.values()):
            raise EmailAlreadyRegistered()
        self.rows[member.membership_id] = member

    async def update(self, member: Member) -> None:
        self.rows[member.membership_id] = member

    async def get(self, membership_id: str) -> Member | None:
        member = self.rows.get(membership_id)
        return replace(member, events=[]) if member else None

    async def get_by_email(self, email: str) -> Member | None:
        found = [m for m in self.rows.values() if email_key(m.email) == email_key(email)]
        return replace(found[0], events=[]) if found else None

    async def page_by_address(self, address: str, after: str | None, limit: int) -> MemberPage:
        found = sorted(
            m.membership_id for m in self.rows.values() if m.address == address and m.membership_id > (after or "")
        )
        page, next_cursor = cut_page(found, limit, lambda membership_id: membership_id)
        return MemberPage([self.rows[membership_id] for membership_id in page], next_cursor)

    async def in_an_old_email_form(self, after: str, limit: int) -> Sequence[Member]:
        return []


class FakeRefreshTokens:
    def __init__(self) -> None:
        self.rows: dict[str, RefreshToken] = {}

    async def add(self, token: RefreshToken) -> None:
        self.rows[token.token_id] = token

    async def get_for_update(self, token_id: str) -> RefreshToken | None:
        token = self.rows.get(token_id)
        return replace(token) if token else None

    async def save(self, token: RefreshToken) -> None:
        self.rows[token.token_id] = token

    async def revoke_family(self, family_id: str, at: datetime) -> None:
        for token in self.rows.values():
            if token.family_id == family_id:
                token.revoked_at = at

    async def revoke_member(self, membership_id: str, at: datetime) -> None:
        for token in self.rows.values():
            if token.membership_id == membership_id:
                token.revoked_at = at


class FakeUnitOfWork:
    def __init__(self, members: FakeMembers, tokens: FakeRefreshTokens, published: list[MemberEvent]) -> None:
        self.members = members
        self.refresh_tokens = tokens
        self.published = published

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def commit(self) -> None:
        for member in self.members.rows.values():
            self.published.extend(member.events)
            member.events.clear()


class PlainPasswords:
    async def hash(self, password: str) -> str:
        return f"hashed:{password}"

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return password_hash == f"hashed:{password}"


class FakeAccessTokens:
    ttl_seconds = 900

    def issue(self, membership_id: str, role: Role) -> str:
        return f"{role.value}:{membership_id}"

    def subject_of(self, token: str) -> str | None:
        return token.partition(":")[2] or None


@pytest.fixture
def deps() -> use_cases.Dependencies:
    members, tokens, published = FakeMembers(), FakeRefreshTokens(), []
    return use_cases.Dependencies(
        uow=lambda: FakeUnitOfWork(members, tokens, published),
        passwords=PlainPasswords(),
        access_tokens=FakeAccessTokens(),
        refresh_ttl=timedelta(days=14),
        clock=lambda: NOW,
    )


async def register(deps: use_cases.Dependencies, email: str = "kim@example.com") -> Member:
    return await use_cases.register_member(
        deps, use_cases.RegisterMember("Kim", email, "강남구", "secret-password", False)
    )


async def test_registering_twice_with_the_same_email_is_refused(deps: use_cases.Dependencies) -> None:
    await register(deps)
    with pytest.raises(EmailAlreadyRegistered):
        await register(deps, "KIM@example.com")


async def test_login_gives_one_answer_for_every_failure(deps: use_cases.Dependencies) -> None:
    member = await register(deps)
    tokens = await use_cases.log_in(deps, "kim@example.com", "secret-password")
    assert tokens.access_token == f"member:{member.membership_id}"
    with pytest.raises(InvalidCredentials):
        await use_cases.log_in(deps, "kim@example.com", "wrong-password")
    with pytest.raises(InvalidCredentials):
        await use_cases.log_in(deps, "nobody@example.com", "secret-password")
    await use_cases.modify_member(
        deps,
        use_cases.ModifyMember(member.membership_id, "Kim", "kim@example.com", "강남구", False, False, privileged=True),
    )
    with pytest.raises(InvalidCredentials):
        await use_cases.log_in(deps, "kim@example.com", "secret-password")


async def test_refresh_rotates_and_a_replay_revokes_the_family(deps: use_cases.Dependencies) -> None:
    await register(deps)
    first = await use_cases.log_in(deps, "kim@example.com", "secret-password")
    second = await use_cases.refresh_tokens(deps, first.refresh_token)
    assert second.refresh_token != first.refresh_token
    with pytest.raises(InvalidRefreshToken):
        await use_cases.refresh_tokens(deps, first.refresh_token)
    with pytest.raises(InvalidRefreshToken):
        await use_cases.refresh_tokens(deps, second.refresh_token)


async def test_a_forged_refresh_secret_is_refused(deps: use_cases.Dependencies) -> None:
    await register(deps)
    tokens = await use_cases.log_in(deps, "kim@example.com", "secret-password")
    token_id = tokens.refresh_token.partition(".")[0]
    with pytest.raises(InvalidRefreshToken):
        await use_cases.refresh_tokens(deps, f"{token_id}.forged")


async def test_modifying_revokes_refresh_tokens_and_publishes_the_address_change(
    deps: use_cases.Dependencies,
) -> None:
    member = await register(deps)
    tokens = await use_cases.log_in(deps, "kim@example.com", "secret-password")
    await use_cases.modify_member(
        deps,
        use_cases.ModifyMember(member.membership_id, "Kim", "kim@example.com", "서초구", True, False, privileged=False),
    )
    with pytest.raises(InvalidRefreshToken):
        await use_cases.refresh_tokens(deps, tokens.refresh_token)
    uow = deps.uow()
    assert isinstance(uow, FakeUnitOfWork)
    assert MemberModified(member.membership_id, "강남구", "서초구", True, False) in uow.published


async def test_modifying_an_unknown_member_is_not_found(deps: use_cases.Dependencies) -> None:
    with pytest.raises(MemberNotFound):
        await use_cases.modify_member(
            deps, use_cases.ModifyMember("nobody", "Kim", "kim@example.com", "강남구", True, False, privileged=True)
        )


async def test_the_admin_is_created_once_and_logs_in_with_the_admin_role(deps: use_cases.Dependencies) -> None:
    first = await use_cases.ensure_admin(deps, "admin@pay.local", "admin-password")
    again = await use_cases.ensure_admin(deps, "admin@pay.local", "admin-password")
    assert first.membership_id == again.membership_id
    tokens = await use_cases.log_in(deps, "admin@pay.local", "admin-password")
    assert tokens.access_token.startswith("admin:")


async def test_token_validation_needs_a_still_valid_member(deps: use_cases.Dependencies) -> None:
    member = await register(deps)
    assert await use_cases.validate_access_token(deps, f"member:{member.membership_id}") == member.membership_id
    assert await use_cases.validate_access_token(deps, "member:unknown") is None
    assert await use_cases.validate_access_token(deps, "garbage") is None


async def test_the_admin_email_of_an_existing_member_does_not_make_it_admin(deps: use_cases.Dependencies) -> None:
    member = await register(deps, "boss@example.com")
    tokens = await use_cases.log_in(deps, "boss@example.com", "secret-password")
    with pytest.raises(AdminEmailTaken, match="Choose another PAY_ADMIN_EMAIL"):
        await use_cases.ensure_admin(deps, "Boss@EXAMPLE.com", "admin-password")
    assert (await use_cases.get_member(deps, member.membership_id)).role is Role.MEMBER
    refreshed = await use_cases.refresh_tokens(deps, tokens.refresh_token)
    assert refreshed.access_token == f"member:{member.membership_id}"
    with pytest.raises(InvalidCredentials):
        await use_cases.log_in(deps, "boss@example.com", "admin-password")


async def test_a_new_admin_password_ends_the_admins_sessions(deps: use_cases.Dependencies) -> None:
    admin = await use_cases.ensure_admin(deps, "admin@pay.local", "admin-password")
    tokens = await use_cases.log_in(deps, "admin@pay.local", "admin-password")
    again = await use_cases.ensure_admin(deps, "admin@pay.local", "new-admin-password")
    assert again.membership_id == admin.membership_id and again.role is Role.ADMIN
    with pytest.raises(InvalidRefreshToken):
        await use_cases.refresh_tokens(deps, tokens.refresh_token)
    assert (await use_cases.log_in(deps, "admin@pay.local", "new-admin-password")).access_token.startswith("admin:")


@pytest.mark.parametrize(("email", "is_valid"), [("admin@pay.local", False), ("other@pay.local", True)])
async def test_the_admin_cannot_be_made_invalid_nor_lose_its_email(
    deps: use_cases.Dependencies, email: str, is_valid: bool
) -> None:
    admin = await use_cases.ensure_admin(deps, "admin@pay.local", "admin-password")
    command = use_cases.ModifyMember(admin.membership_id, "Admin", email, "-", is_valid, False, privileged=True)
    with pytest.raises(AdminMustStay):
        await use_cases.modify_member(deps, command)
    assert (await use_cases.log_in(deps, "admin@pay.local", "admin-password")).access_token.startswith("admin:")


async def test_the_admin_may_change_its_name_and_the_case_of_its_emails_domain(deps: use_cases.Dependencies) -> None:
    admin = await use_cases.ensure_admin(deps, "admin@pay.local", "admin-password")
    command = use_cases.ModifyMember(admin.membership_id, "Root", "admin@PAY.local", "-", True, False, privileged=True)
    modified = await use_cases.modify_member(deps, command)
    assert (modified.name, modified.email) == ("Root", "admin@pay.local")


async def test_an_email_in_another_normal_form_or_domain_case_is_the_same_member(
    deps: use_cases.Dependencies,
) -> None:
    decomposed, composed = "jose\u0301@Example.COM", "jos\u00e9@example.com"
    member = await register(deps, decomposed)
    assert member.email == composed
    assert (await use_cases.log_in(deps, composed, "secret-password")).membership_id == member.membership_id
    with pytest.raises(EmailAlreadyRegistered):
        await register(deps, "jos\u00e9@EXAMPLE.com")


async def test_a_member_registering_the_admin_email_during_start_up_is_not_made_admin(
    deps: use_cases.Dependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = await register(deps, "admin@pay.local")
    real_lookup, unseen = FakeMembers.get_by_email, [None, None]

    async def registered_after_the_lookups(self: FakeMembers, email: str) -> Member | None:
        return unseen.pop() if unseen else await real_lookup(self, email)

    monkeypatch.setattr(FakeMembers, "get_by_email", registered_after_the_lookups)
    with pytest.raises(AdminEmailTaken):
        await use_cases.ensure_admin(deps, "admin@pay.local", "admin-password")
    assert (await use_cases.get_member(deps, member.membership_id)).role is Role.MEMBER
