from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pay.money.domain.wallet import (
    BalanceLimitExceeded,
    HoldNotFound,
    InsufficientBalance,
    Wallet,
    WalletEventKind,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LIMIT = 10**13


def test_a_new_wallet_is_empty_and_journaled() -> None:
    wallet = Wallet.open("m-1", NOW)
    assert (wallet.balance, wallet.available, wallet.version) == (0, 0, 1)
    assert [event.kind for event in wallet.changes] == [WalletEventKind.OPENED]


def test_debits_never_overdraw() -> None:
    wallet = Wallet.open("m-1", NOW)
    wallet.credit(10_000, "r-1", NOW, LIMIT)
    with pytest.raises(InsufficientBalance):
        wallet.debit(10_001, "r-2", NOW)
    assert wallet.balance == 10_000


def test_held_money_cannot_be_spent_and_comes_back_when_released() -> None:
    wallet = Wallet.open("m-1", NOW)
    wallet.credit(10_000, "r-1", NOW, LIMIT)
    wallet.hold(7_000, "w-1", NOW)
    assert (wallet.balance, wallet.available) == (10_000, 3_000)
    with pytest.raises(InsufficientBalance):
        wallet.debit(3_001, "r-2", NOW)
    wallet.release_hold("w-1", NOW)
    assert wallet.available == 10_000


def test_a_captured_hold_leaves_the_wallet() -> None:
    wallet = Wallet.open("m-1", NOW)
    wallet.credit(10_000, "r-1", NOW, LIMIT)
    wallet.hold(7_000, "w-1", NOW)
    wallet.capture_hold("w-1", NOW)
    assert (wallet.balance, wallet.held, wallet.available) == (3_000, 0, 3_000)
    with pytest.raises(HoldNotFound):
        wallet.release_hold("w-1", NOW)


def test_credits_respect_the_wallet_limit() -> None:
    wallet = Wallet.open("m-1", NOW)
    with pytest.raises(BalanceLimitExceeded):
        wallet.credit(101, "r-1", NOW, 100)
    assert wallet.balance == 0


@pytest.mark.parametrize("amount", [0, -5, 1.5, True])
def test_amounts_are_positive_whole_won(amount: object) -> None:
    with pytest.raises(ValueError):
        Wallet.open("m-1", NOW).credit(amount, "r", NOW, LIMIT)  # type: ignore[arg-type]


operations = st.lists(
    st.tuples(
        st.sampled_from(["credit", "debit", "hold", "release", "capture"]),
        st.integers(min_value=1, max_value=50_000),
    ),
    max_size=60,
)


@given(operations)
def test_no_sequence_of_operations_goes_negative_and_replay_gives_the_same_wallet(
    steps: list[tuple[str, int]],
) -> None:
    wallet = Wallet.open("m-1", NOW)
    holds: list[str] = []
    for number, (operation, amount) in enumerate(steps):
        request_id = f"r-{number}"
        try:
            if operation == "credit":
                wallet.credit(amount, request_id, NOW, 200_000)
            elif operation == "debit":
                wallet.debit(amount, request_id, NOW)
            elif operation == "hold":
                wallet.hold(amount, request_id, NOW)
                holds.append(request_id)
            elif holds:
                hold = holds.pop(amount % len(holds))
                (wallet.release_hold if operation == "release" else wallet.capture_hold)(hold, NOW)
        except (InsufficientBalance, BalanceLimitExceeded):
            pass
        assert 0 <= wallet.held <= wallet.balance <= 200_000
        assert wallet.available >= 0
    rebuilt = Wallet.replay("m-1", wallet.changes)
    assert (rebuilt.balance, rebuilt.held, rebuilt.version, rebuilt.holds) == (
        wallet.balance,
        wallet.held,
        wallet.version,
        wallet.holds,
    )
    assert [event.version for event in wallet.changes] == list(range(1, wallet.version + 1))
