"""`pay reconcile` pairs the corporate account's statement at the bank with the ledger's bank legs."""

import random
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from pay.contracts.bank import StatementLine
from pay.contracts.money import BankLeg
from pay.reconcile import UnpairedTransfer, pair

AT = datetime(2026, 12, 2, tzinfo=UTC)

movements = st.dictionaries(
    st.text("abcdef0123456789-", min_size=1, max_size=12),
    st.integers(-(10**12), 10**12).filter(bool),
    max_size=30,
)


def line(transfer_id: str, amount: int) -> StatementLine:
    return StatementLine(
        transfer_id=transfer_id,
        counterparty_bank_name="KB",
        counterparty_bank_account_number="110-1",
        amount=amount,
        at=AT,
    )


def leg(transfer_id: str, amount: int) -> BankLeg:
    return BankLeg(transfer_id=transfer_id, money_changing_request_id=f"request-of-{transfer_id}", amount=amount)


@given(movements, st.randoms())
def test_a_ledger_that_accounts_for_every_transfer_pairs_whatever_the_order(
    moved: dict[str, int], shuffler: random.Random
) -> None:
    legs = [leg(transfer_id, amount) for transfer_id, amount in moved.items()]
    shuffler.shuffle(legs)
    assert pair([line(transfer_id, amount) for transfer_id, amount in moved.items()], legs) == []


@given(movements.filter(bool), st.data())
def test_each_transfer_the_two_sides_disagree_on_is_named_once(moved: dict[str, int], data: st.DataObject) -> None:
    unknown_to_the_ledger = data.draw(st.sampled_from(sorted(moved)))
    never_moved = data.draw(st.sampled_from(sorted(moved)))
    statement = [line(transfer_id, amount) for transfer_id, amount in moved.items() if transfer_id != never_moved]
    legs = [leg(transfer_id, amount) for transfer_id, amount in moved.items() if transfer_id != unknown_to_the_ledger]

    unpaired = pair(statement, legs)

    if unknown_to_the_ledger == never_moved:
        assert unpaired == []  # neither side knows it: nothing moved and nothing is owed
    else:
        assert unpaired == sorted(
            [
                UnpairedTransfer(unknown_to_the_ledger, moved[unknown_to_the_ledger], None, None),
                UnpairedTransfer(never_moved, None, moved[never_moved], f"request-of-{never_moved}"),
            ],
            key=lambda found: found.transfer_id,
        )


def test_a_leg_of_another_amount_is_named_with_both_amounts() -> None:
    (unpaired,) = pair([line("r1-payout", -3_000)], [leg("r1-payout", -30_000)])

    assert unpaired == UnpairedTransfer("r1-payout", -3_000, -30_000, "request-of-r1-payout")
    assert str(unpaired) == (
        "transfer r1-payout moved -3,000 won at the bank, but request request-of-r1-payout has it move -30,000 won"
    )


def test_each_break_says_which_side_lacks_the_transfer() -> None:
    unknown, never_moved = pair([line("a-charge", 10_000)], [leg("b-payout", -5_000)])

    assert str(unknown) == "transfer a-charge moved +10,000 won at the bank; the ledger has no leg for it"
    assert str(never_moved) == (
        "transfer b-payout: the bank never moved it, but request request-of-b-payout has it move -5,000 won"
    )
