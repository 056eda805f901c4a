"""The franchise's own rules: what a fee rate may be, who may own a franchise, and who may change what."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from pay.contracts.types import FeeRate
from pay.franchise.domain.model import (
    UNCHANGED,
    BankAccount,
    FeeRateAdminOnly,
    FeeRateOutOfBounds,
    Franchise,
    FranchiseChanges,
    FranchiseModified,
    FranchiseRegistered,
    NotACorporateMember,
    Owner,
    OwnerInvalid,
    ValidityAdminOnly,
    ensure_fee_rate,
)

NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
FEE_RATE = TypeAdapter(FeeRate)

# Every rate the SPEC allows: 0 to 20 percent in hundredths.
allowed_rates = st.integers(0, 2_000).map(lambda hundredths: Decimal(hundredths).scaleb(-2))


def franchise(rate: str = "3.5") -> Franchise:
    account = BankAccount("KB", "1-1")
    registered = Franchise.register("f-1", "owner", "Cafe", "010-1234", account, Decimal(rate), None, NOW)
    registered.events.clear()
    return registered


@given(allowed_rates)
def test_every_allowed_rate_is_read_from_its_string_and_written_back_as_the_same_value(rate: Decimal) -> None:
    text = format(rate, "f")
    parsed = FEE_RATE.validate_json(json.dumps(text))
    assert parsed == rate == ensure_fee_rate(parsed)
    assert Decimal(json.loads(FEE_RATE.dump_json(parsed))) == rate


@given(st.decimals(allow_nan=True, allow_infinity=True))
def test_a_rate_is_accepted_exactly_when_it_is_within_0_and_20_in_hundredths(rate: Decimal) -> None:
    allowed = rate.is_finite() and 0 <= rate <= 20 and rate == rate.quantize(Decimal("0.01"))
    try:
        ensure_fee_rate(rate)
    except FeeRateOutOfBounds:
        assert not allowed
    else:
        assert allowed


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers())
def test_a_rate_sent_as_a_json_number_is_refused(rate: float) -> None:
    with pytest.raises(ValidationError):
        FEE_RATE.validate_json(json.dumps(rate))


@pytest.mark.parametrize(
    "text", ["abc", "20.01", "1.234", "-1", "NaN", "Infinity", "-Infinity", "1e1", " 3.5", "3.", ".5", "", "100"]
)
def test_a_rate_the_spec_does_not_allow_is_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        FEE_RATE.validate_json(json.dumps(text))


@pytest.mark.parametrize(("text", "written"), [("3.5", "3.5"), ("3.50", "3.5"), ("20.00", "20"), ("0", "0")])
def test_a_rate_is_written_without_trailing_zeros(text: str, written: str) -> None:
    assert json.loads(FEE_RATE.dump_json(FEE_RATE.validate_json(json.dumps(text)))) == written


def test_only_a_valid_corporate_member_may_own_a_franchise() -> None:
    Owner("m", is_valid=True, is_corp=True).ensure_may_own_franchise()
    with pytest.raises(OwnerInvalid):
        Owner("m", is_valid=False, is_corp=True).ensure_may_own_franchise()
    with pytest.raises(NotACorporateMember):
        Owner("m", is_valid=True, is_corp=False).ensure_may_own_franchise()


def test_a_registration_records_its_rate_as_in_force_from_then() -> None:
    registered = Franchise.register("f", "o", "Cafe", "010", BankAccount("KB", "1"), Decimal("3.5"), None, NOW)
    assert (registered.fee_rate, registered.fee_rate_since, registered.is_valid) == (Decimal("3.5"), NOW, True)
    assert [type(event) for event in registered.events] == [FranchiseRegistered]


def test_a_registration_with_a_rate_out_of_bounds_is_refused() -> None:
    with pytest.raises(FeeRateOutOfBounds):
        Franchise.register("f", "o", "Cafe", "010", BankAccount("KB", "1"), Decimal("20.5"), None, NOW)


def test_the_owner_changes_its_details_but_not_the_fee_rate_nor_the_validity() -> None:
    shop = franchise()
    shop.modify(FranchiseChanges(name="Cafe 2", webhook_url="https://cafe.example/hook"), LATER, privileged=False)
    assert (shop.name, shop.webhook_url, shop.updated_at) == ("Cafe 2", "https://cafe.example/hook", LATER)
    with pytest.raises(FeeRateAdminOnly):
        shop.modify(FranchiseChanges(name="Cafe 3", fee_rate=Decimal("1")), LATER, privileged=False)
    with pytest.raises(ValidityAdminOnly):
        shop.modify(FranchiseChanges(is_valid=False), LATER, privileged=False)
    assert (shop.name, shop.fee_rate, shop.is_valid) == ("Cafe 2", Decimal("3.5"), True)


def test_the_owner_may_send_back_the_rate_and_validity_it_has() -> None:
    shop = franchise("3.5")
    shop.modify(FranchiseChanges(fee_rate=Decimal("3.50"), is_valid=True), LATER, privileged=False)
    assert (shop.fee_rate_since, shop.updated_at, shop.events) == (NOW, NOW, [])


def test_an_admin_changes_the_rate_which_takes_effect_from_the_change() -> None:
    shop = franchise("3.5")
    shop.modify(FranchiseChanges(fee_rate=Decimal("2.25"), is_valid=False), LATER, privileged=True)
    assert (shop.fee_rate, shop.fee_rate_since, shop.is_valid) == (Decimal("2.25"), LATER, False)
    assert [type(event) for event in shop.events] == [FranchiseModified]
    assert shop.events[0].franchise.fee_rate == Decimal("2.25")


def test_the_webhook_is_removed_only_when_asked() -> None:
    shop = franchise()
    shop.modify(FranchiseChanges(webhook_url="https://cafe.example/hook"), LATER, privileged=False)
    shop.modify(FranchiseChanges(webhook_url=UNCHANGED, name="Cafe 2"), LATER, privileged=False)
    assert shop.webhook_url == "https://cafe.example/hook"
    shop.modify(FranchiseChanges(webhook_url=None), LATER, privileged=False)
    assert shop.webhook_url is None


def test_a_settlement_account_named_in_part_keeps_the_rest_of_the_current_one() -> None:
    shop = franchise()
    assert shop.new_settlement_account(None, "2-2") == BankAccount("KB", "2-2")
    assert shop.new_settlement_account("SH", None) == BankAccount("SH", "1-1")
    assert shop.new_settlement_account("KB", "1-1") is None
    assert shop.new_settlement_account(None, None) is None
