"""The remittance saga's transitions: every step sends one command, every answer moves it on once."""

from datetime import UTC, date, datetime, timedelta

import pytest

from pay.platform.retry import RetryPolicy
from pay.remittance.domain.model import BankTarget, Remittance
from pay.remittance.domain.saga import LedgerCommandSent, PayoutRequested, RemittanceSaga, Step

NOW = datetime(2026, 12, 2, tzinfo=UTC)
RETRY = RetryPolicy(timedelta(seconds=1), timedelta(seconds=8))
CORPORATE = BankTarget("PAYBANK", "100-0000-0001")
TARGET = BankTarget("SH", "220-555")


def to_member(recharge: int = 0) -> RemittanceSaga:
    remittance = Remittance.to_member("r1", "alice", "bob", 25_000, date(2026, 12, 2), NOW)
    return RemittanceSaga.start(remittance, recharge, CORPORATE, NOW, RETRY)


def to_bank() -> RemittanceSaga:
    remittance = Remittance.to_bank_account("r2", "alice", TARGET, 3_000, date(2026, 12, 2), NOW)
    return RemittanceSaga.start(remittance, 0, CORPORATE, NOW, RETRY)


def sent(saga: RemittanceSaga) -> list[str]:
    names = [
        event.kind.value if isinstance(event, LedgerCommandSent) else f"PAYOUT {event.transfer_id}"
        for event in saga.events
    ]
    saga.events.clear()
    return names


def test_a_remittance_to_a_member_recharges_the_shortfall_then_transfers() -> None:
    saga = to_member(recharge=30_000)
    assert saga.step is Step.RECHARGING and sent(saga) == ["RECHARGE"]
    saga.ledger_answered("r1-recharge", None, NOW, RETRY)
    assert saga.step is Step.TRANSFERRING and sent(saga) == ["TRANSFER"]
    saga.ledger_answered("r1-transfer", None, NOW, RETRY)
    assert (saga.step, saga.failure, saga.recharged, saga.wake_at) == (Step.SUCCEEDED, None, 30_000, None)


def test_a_refused_recharge_fails_the_remittance_with_its_reason() -> None:
    saga = to_member(recharge=10_000)
    saga.ledger_answered("r1-recharge", "no-linked-account", NOW, RETRY)
    assert (saga.step, saga.failure, saga.recharged) == (Step.FAILED, "no-linked-account", 0)


def test_a_refused_transfer_fails_it_and_the_recharge_stays_in_the_wallet() -> None:
    saga = to_member(recharge=10_000)
    saga.ledger_answered("r1-recharge", None, NOW, RETRY)
    saga.ledger_answered("r1-transfer", "recipient-deactivated", NOW, RETRY)
    assert (saga.step, saga.failure, saga.recharged) == (Step.FAILED, "recipient-deactivated", 10_000)


def test_a_remittance_to_a_bank_holds_pays_out_and_captures() -> None:
    saga = to_bank()
    assert saga.step is Step.HOLDING and sent(saga) == ["HOLD"]
    saga.ledger_answered("r2-hold", None, NOW, RETRY)
    assert saga.step is Step.PAYING_OUT
    (payout,) = saga.events
    assert isinstance(payout, PayoutRequested) and (payout.source, payout.target, payout.amount) == (
        CORPORATE,
        TARGET,
        3_000,
    )
    saga.events.clear()
    saga.payout_answered("r2-payout", "fb-1", None, NOW, RETRY)
    (capture,) = saga.events
    assert isinstance(capture, LedgerCommandSent)
    # The capture names the payout as its bank leg, so that the ledger pairs with the corporate account.
    assert (capture.hold_transaction_id, capture.bank_transfer_id) == ("r2-hold", "r2-payout")
    assert saga.step is Step.CAPTURING and sent(saga) == ["CAPTURE"]
    saga.ledger_answered("r2-capture", None, NOW, RETRY)
    assert (saga.step, saga.firmbanking_request_id) == (Step.SUCCEEDED, "fb-1")


def test_a_payout_the_bank_refuses_releases_the_hold_and_fails_with_the_bank_s_reason() -> None:
    saga = to_bank()
    saga.ledger_answered("r2-hold", None, NOW, RETRY)
    saga.payout_answered("r2-payout", "fb-1", "insufficient-funds", NOW, RETRY)
    saga.events.clear()
    assert saga.step is Step.RELEASING
    saga.ledger_answered("r2-release", None, NOW, RETRY)
    assert (saga.step, saga.failure) == (Step.FAILED, "insufficient-funds")


def test_a_step_that_hears_nothing_sends_the_same_command_again_later_and_later() -> None:
    saga = to_bank()
    first = saga.events[0]
    saga.events.clear()
    assert saga.wake_at == NOW + timedelta(seconds=1)
    later = NOW + timedelta(seconds=1)
    saga.wake(later, RETRY)
    assert saga.events == [first] and saga.wake_at == later + timedelta(seconds=2)


def test_a_refused_capture_is_a_fault_the_step_outlasts_by_asking_again() -> None:
    saga = to_bank()
    saga.ledger_answered("r2-hold", None, NOW, RETRY)
    saga.payout_answered("r2-payout", "fb-1", None, NOW, RETRY)
    saga.ledger_answered("r2-capture", "hold-not-found", NOW, RETRY)
    assert saga.step is Step.CAPTURING and saga.wake_at is not None


def test_an_answer_the_saga_does_not_wait_for_is_refused() -> None:
    saga = to_member()
    assert not saga.awaits_ledger("r1-recharge") and saga.awaits_ledger("r1-transfer")
    with pytest.raises(ValueError):
        saga.ledger_answered("r1-hold", None, NOW, RETRY)
    assert not saga.awaits_payout("r1-payout")


def test_the_ledger_transactions_a_saga_may_cause() -> None:
    assert to_member(recharge=10_000).ledger_transactions() == ["r1-recharge", "r1-transfer"]
    assert to_bank().ledger_transactions() == ["r2-hold", "r2-capture", "r2-release"]
