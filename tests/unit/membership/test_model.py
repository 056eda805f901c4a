from datetime import UTC, datetime, timedelta

import pytest

from pay.membership.domain.model import (
    InvalidRefreshToken,
    Member,
    MemberModified,
    MemberRegistered,
    RefreshToken,
    StatusChangeForbidden,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def a_member() -> Member:
    return Member.register("m-1", "Kim", "kim@example.com", "강남구", False, "hash", NOW)


def test_a_registered_member_is_valid_and_announces_itself() -> None:
    member = a_member()
    assert member.is_valid and member.may_log_in()
    assert member.events == [MemberRegistered("m-1", "강남구", True, False)]


def test_modifying_announces_the_old_and_new_address() -> None:
    member = a_member()
    member.modify("Kim", "kim@example.com", "서초구", True, False, NOW + timedelta(1), privileged=False)
    assert member.events[-1] == MemberModified("m-1", "강남구", "서초구", True, False)
    assert member.updated_at == NOW + timedelta(1)


@pytest.mark.parametrize(("is_valid", "is_corp"), [(False, False), (True, True)])
def test_only_a_privileged_caller_changes_validity_or_merchant_status(is_valid: bool, is_corp: bool) -> None:
    member = a_member()
    with pytest.raises(StatusChangeForbidden):
        member.modify("Kim", "kim@example.com", "강남구", is_valid, is_corp, NOW, privileged=False)
    member.modify("Kim", "kim@example.com", "강남구", is_valid, is_corp, NOW, privileged=True)
    assert (member.is_valid, member.is_corp) == (is_valid, is_corp)


def test_an_invalid_member_may_not_log_in() -> None:
    member = a_member()
    member.modify("Kim", "kim@example.com", "강남구", False, False, NOW, privileged=True)
    assert not member.may_log_in()


def a_token(**changes: object) -> RefreshToken:
    token = RefreshToken("t-1", "f-1", "m-1", "digest", NOW + timedelta(days=14))
    for name, value in changes.items():
        setattr(token, name, value)
    return token


def test_a_refresh_token_is_spent_once() -> None:
    token = a_token()
    token.spend(NOW)
    assert token.was_replayed()
    with pytest.raises(InvalidRefreshToken):
        token.spend(NOW)


def test_an_expired_or_revoked_refresh_token_is_unusable() -> None:
    assert not a_token().is_usable(NOW + timedelta(days=15))
    assert not a_token(revoked_at=NOW).is_usable(NOW)
    with pytest.raises(InvalidRefreshToken):
        a_token().spend(NOW + timedelta(days=15))
