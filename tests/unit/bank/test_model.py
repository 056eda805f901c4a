"""The bank's transfer rules, without I/O."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pay.bank.domain.model import (
    Account,
    AccountKey,
    FailureReason,
    InsufficientFunds,
    Transfer,
    TransferOutcome,
    TransferStatus,
)

ALICE = AccountKey("KB", "111-1")
BOB = AccountKey("KB", "222-2")
CAROL = AccountKey("SHINHAN", "333-3")


def transfer(amount: int, source: AccountKey = ALICE, destination: AccountKey = BOB) -> Transfer:
    return Transfer("t-1", source, destination, amount)


def test_a_transfer_moves_the_amount_from_source_to_destination() -> None:
    alice, bob = Account(ALICE, "Alice", 1_000), Account(BOB, "Bob", 50)

    outcome = transfer(400).settle(alice, bob)

    assert outcome == TransferOutcome("t-1", TransferStatus.SUCCEEDED)
    assert (alice.balance, bob.balance) == (600, 450)


def test_the_whole_balance_may_be_sent() -> None:
    alice, bob = Account(ALICE, "Alice", 1_000), Account(BOB, "Bob", 0)

    assert transfer(1_000).settle(alice, bob).status is TransferStatus.SUCCEEDED
    assert (alice.balance, bob.balance) == (0, 1_000)


@pytest.mark.parametrize(
    ("alice", "bob", "reason"),
    [
        (Account(ALICE, "Alice", 999), Account(BOB, "Bob", 0), FailureReason.INSUFFICIENT_FUNDS),
        (None, Account(BOB, "Bob", 0), FailureReason.UNKNOWN_ACCOUNT),
        (Account(ALICE, "Alice", 5_000), None, FailureReason.UNKNOWN_ACCOUNT),
        (Account(ALICE, "Alice", 5_000, valid=False), Account(BOB, "Bob", 0), FailureReason.INVALID_ACCOUNT),
        (Account(ALICE, "Alice", 5_000), Account(BOB, "Bob", 0, valid=False), FailureReason.INVALID_ACCOUNT),
    ],
)
def test_a_refused_transfer_fails_with_its_reason_and_moves_nothing(
    alice: Account | None, bob: Account | None, reason: FailureReason
) -> None:
    before = [account.balance for account in (alice, bob) if account is not None]

    outcome = transfer(1_000).settle(alice, bob)

    assert outcome == TransferOutcome("t-1", TransferStatus.FAILED, reason)
    assert [account.balance for account in (alice, bob) if account is not None] == before


def test_an_account_cannot_pay_itself() -> None:
    alice = Account(ALICE, "Alice", 5_000)

    outcome = transfer(1_000, ALICE, ALICE).settle(alice, alice)

    assert outcome.reason is FailureReason.SAME_ACCOUNT
    assert alice.balance == 5_000


def test_a_withdrawal_never_overdraws() -> None:
    alice = Account(ALICE, "Alice", 10)

    with pytest.raises(InsufficientFunds):
        alice.withdraw(11)
    assert alice.balance == 10


@pytest.mark.parametrize("amount", [0, -1])
def test_a_transfer_moves_a_positive_amount(amount: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        transfer(amount)


def test_an_account_cannot_open_overdrawn() -> None:
    with pytest.raises(ValueError, match="negative"):
        Account(ALICE, "Alice", -1)


KEYS = [ALICE, BOB, CAROL]
orders = st.tuples(st.sampled_from(KEYS), st.sampled_from(KEYS), st.integers(min_value=1, max_value=2_000))


@given(
    balances=st.lists(st.integers(min_value=0, max_value=1_000), min_size=len(KEYS), max_size=len(KEYS)),
    valid=st.lists(st.booleans(), min_size=len(KEYS), max_size=len(KEYS)),
    sequence=st.lists(orders, max_size=50),
)
def test_any_sequence_of_transfers_conserves_money_and_never_overdraws(
    balances: list[int], valid: list[bool], sequence: list[tuple[AccountKey, AccountKey, int]]
) -> None:
    accounts = {
        key: Account(key, "Holder", balance, is_valid)
        for key, balance, is_valid in zip(KEYS, balances, valid, strict=True)
    }
    total = sum(balances)

    for number, (source, destination, amount) in enumerate(sequence):
        before = {key: account.balance for key, account in accounts.items()}
        outcome = Transfer(f"t-{number}", source, destination, amount).settle(accounts[source], accounts[destination])

        if outcome.status is TransferStatus.SUCCEEDED:
            assert before[source] - accounts[source].balance == amount
            assert accounts[destination].balance - before[destination] == amount
        else:
            assert {key: account.balance for key, account in accounts.items()} == before
        assert all(account.balance >= 0 for account in accounts.values())
        assert sum(account.balance for account in accounts.values()) == total
