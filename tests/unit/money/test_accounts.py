"""Payables and revenue: a settlement takes the fee to revenue and pays out no more than the payable holds."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pay.money.domain.accounts import AccountKind, Entry, InsufficientPayable, Payable, into_payable, out_of_payable

won = st.integers(0, 10**9)


@given(st.integers(-(10**9), 10**9), won, won)
def test_a_settlement_pays_out_only_what_remains_after_the_fee_and_conserves_money(
    balance: int, fee: int, payout: int
) -> None:
    payable = Payable("f-1", balance)
    if fee + payout == 0:
        with pytest.raises(ValueError):
            payable.settle(fee, payout)
        return
    if payout and payout > balance - fee:
        with pytest.raises(InsufficientPayable):
            payable.settle(fee, payout)
        return

    entries = payable.settle(fee, payout)

    # What leaves the payable is the fee, now revenue, and the payout, now at the bank.
    assert sum(entry.amount for entry in entries) == -payout
    assert sum(entry.amount for entry in entries if entry.kind is AccountKind.REVENUE) == fee
    after = balance + sum(entry.amount for entry in entries if entry.kind is AccountKind.PAYABLE)
    assert after == balance - fee - payout
    assert after >= 0 or payout == 0, "only a fee, never a payout, leaves the franchise owing"


def test_a_payable_s_entries_name_its_franchise_and_revenue_s_none() -> None:
    assert into_payable("f-1", 500) == Entry(AccountKind.PAYABLE, "f-1", 500)
    assert out_of_payable("f-1", 500) == Entry(AccountKind.PAYABLE, "f-1", -500)
    assert Payable("f-1", 1_000).settle(30, 970) == [
        Entry(AccountKind.PAYABLE, "f-1", -1_000),
        Entry(AccountKind.REVENUE, None, 30),
    ]
    assert Payable("f-1", 1_000).settle(0, 1_000) == [Entry(AccountKind.PAYABLE, "f-1", -1_000)]
