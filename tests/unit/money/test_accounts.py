"""Payables and revenue: a settlement takes the fee to revenue and records the payout the bank made."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pay.money.domain.accounts import AccountKind, Entry, into_payable, out_of_payable, settle

won = st.integers(0, 10**9)


@given(st.integers(-(10**9), 10**9), won, won)
def test_a_settlement_moves_the_fee_to_revenue_records_the_payout_and_conserves_money(
    balance: int, fee: int, payout: int
) -> None:
    if fee + payout == 0:
        with pytest.raises(ValueError):
            settle("f-1", fee, payout)
        return

    entries = settle("f-1", fee, payout)

    # What leaves the payable is the fee, now revenue, and the payout, now at the bank; a refund the payout did
    # not deduct leaves the payable below zero, owed to the next settlement.
    assert sum(entry.amount for entry in entries) == -payout
    assert sum(entry.amount for entry in entries if entry.kind is AccountKind.REVENUE) == fee
    after = balance + sum(entry.amount for entry in entries if entry.kind is AccountKind.PAYABLE)
    assert after == balance - fee - payout


def test_a_payable_s_entries_name_its_franchise_and_revenue_s_none() -> None:
    assert into_payable("f-1", 500) == Entry(AccountKind.PAYABLE, "f-1", 500)
    assert out_of_payable("f-1", 500) == Entry(AccountKind.PAYABLE, "f-1", -500)
    assert settle("f-1", 30, 970) == [
        Entry(AccountKind.PAYABLE, "f-1", -1_000),
        Entry(AccountKind.REVENUE, None, 30),
    ]
    assert settle("f-1", 0, 1_000) == [Entry(AccountKind.PAYABLE, "f-1", -1_000)]
