from datetime import UTC, datetime, timedelta

import pytest

from pay.membership.domain.model import (
    AdminMustStay,
    InvalidRefreshToken,
    Member,
    MemberModified,
    MemberRegistered,
    RefreshToken,
    StatusChangeForbidden,
    email_key,
    normalise_email,
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


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("kim@example.com", "kim@example.com"),
        ("  Kim@Example.COM ", "Kim@example.com"),
        ("\u1100\u1161@example.com", "\uac00@example.com"),
        ("jose\u0301@EXAMPLE.com", "jos\u00e9@example.com"),
        ("a@b@Ex.com", "a@b@ex.com"),
    ],
)
def test_emails_are_kept_in_one_normal_form(typed: str, stored: str) -> None:
    assert normalise_email(typed) == stored
    assert Member.register("m-1", "Kim", typed, "강남구", False, "hash", NOW).email == stored


def test_the_email_key_ignores_case_and_normal_form_and_is_unchanged_for_normal_addresses() -> None:
    assert email_key("JOSE\u0301@example.com") == email_key("jos\u00e9@EXAMPLE.COM")
    assert email_key("Kim@Example.com") == "Kim@Example.com".strip().lower()


def test_the_admin_may_not_be_made_invalid_nor_change_its_email() -> None:
    admin = Member.create_admin("m-0", "admin@pay.local", "hash", NOW)
    with pytest.raises(AdminMustStay):
        admin.modify("Admin", "admin@pay.local", "-", False, False, NOW, privileged=True)
    with pytest.raises(AdminMustStay):
        admin.modify("Admin", "root@pay.local", "-", True, False, NOW, privileged=True)
    assert admin.is_valid and admin.email == "admin@pay.local"
    admin.modify("Root", "Admin@PAY.LOCAL", "서초구", True, False, NOW, privileged=True)
    assert (admin.name, admin.address) == ("Root", "서초구")
