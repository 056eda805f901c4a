"""The read model's rules: a member's balance by its wallet's version, its address by time, a region's money
the sum over who lives there; any order and any repetition of the events give the same model."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pay.money_query.domain.projection import (
    AddressChange,
    MemberMoney,
    MoneyEvent,
    WalletChange,
    differences,
    fold,
    region_money,
)

T0 = datetime(2026, 12, 2, 9, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_registered_member_s_balance_counts_in_its_region() -> None:
    members = fold([AddressChange("a", "Seoul", at(0)), WalletChange("a", 5_000, 2, at(1))])

    assert region_money(members.values(), "Seoul").money_sum == 5_000
    assert region_money(members.values(), "Seoul").member_count == 1


def test_an_address_change_moves_the_balance_to_the_new_region() -> None:
    members = fold(
        [
            AddressChange("a", "Seoul", at(0)),
            AddressChange("b", "Seoul", at(0)),
            WalletChange("a", 5_000, 2, at(1)),
            WalletChange("b", 1_000, 2, at(1)),
            AddressChange("a", "Busan", at(2)),
        ]
    )

    seoul, busan = region_money(members.values(), "Seoul"), region_money(members.values(), "Busan")
    assert (seoul.money_sum, seoul.member_count) == (1_000, 1)
    assert (busan.money_sum, busan.member_count) == (5_000, 1)


def test_an_unknown_region_holds_nothing() -> None:
    members = fold([AddressChange("a", "Seoul", at(0)), WalletChange("a", 5_000, 2, at(1))])

    region = region_money(members.values(), "Jeju")

    assert (region.address, region.money_sum, region.member_count) == ("Jeju", 0, 0)


def test_an_older_wallet_version_arriving_late_changes_nothing() -> None:
    members = fold([WalletChange("a", 7_000, 3, at(2)), WalletChange("a", 5_000, 2, at(1))])

    assert members["a"].balance == 7_000
    assert members["a"].wallet_version == 3


def test_a_registration_heard_after_a_move_does_not_move_the_member_back() -> None:
    members = fold([AddressChange("a", "Busan", at(5)), AddressChange("a", "Seoul", at(0))])

    assert members["a"].address == "Busan"


def test_money_of_a_member_whose_registration_is_not_heard_yet_counts_nowhere_until_it_is() -> None:
    before = fold([WalletChange("a", 5_000, 2, at(1))])
    after = fold([WalletChange("a", 5_000, 2, at(1)), AddressChange("a", "Seoul", at(0))])

    assert region_money(before.values(), "Seoul").money_sum == 0
    assert before["a"].address is None
    assert region_money(after.values(), "Seoul").money_sum == 5_000


_EVENTS: list[MoneyEvent] = [
    AddressChange("a", "Seoul", at(0)),
    AddressChange("b", "Busan", at(0)),
    WalletChange("a", 0, 1, at(0)),
    WalletChange("a", 10_000, 2, at(1)),
    WalletChange("b", 3_000, 2, at(1)),
    WalletChange("a", 4_000, 3, at(2)),
    WalletChange("b", 9_000, 3, at(2)),
    AddressChange("a", "Busan", at(3)),
    WalletChange("a", 6_000, 4, at(4)),
    AddressChange("b", "Seoul", at(5)),
]


@given(st.permutations(_EVENTS), st.lists(st.sampled_from(_EVENTS), max_size=10))
def test_any_order_and_any_repetition_give_the_same_model(order: list[MoneyEvent], repeated: list[MoneyEvent]) -> None:
    members = fold([*order, *repeated])

    assert members == fold(_EVENTS)
    assert members["a"] == MemberMoney("a", "Busan", at(3), 6_000, 4)
    assert region_money(members.values(), "Seoul").money_sum == 9_000
    assert region_money(members.values(), "Busan").money_sum == 6_000


def test_a_live_model_ahead_of_the_replay_does_not_differ_but_one_behind_or_disagreeing_does() -> None:
    rebuilt = fold(_EVENTS[:6])
    ahead = fold(_EVENTS)
    behind = fold(_EVENTS[:3])
    disagreeing = {**rebuilt, "b": MemberMoney("b", "Busan", at(0), 3_001, 2)}

    assert differences(ahead, rebuilt) == []
    assert [difference.membership_id for difference in differences(behind, rebuilt)] == ["a", "b"]
    assert [difference.membership_id for difference in differences(disagreeing, rebuilt)] == ["b"]
    assert [difference.membership_id for difference in differences({}, rebuilt)] == ["a", "b"]
