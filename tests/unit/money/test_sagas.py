from datetime import UTC, datetime, timedelta

import pytest

from pay.money.domain.sagas import BankAccount, MoneySaga, RetryPolicy, SagaKind, Step

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CORPORATE = BankAccount("PAYBANK", "100")
MEMBER = BankAccount("KB", "200")
POLICY = RetryPolicy(first_delay=timedelta(seconds=1), max_delay=timedelta(seconds=8))


def recharge() -> MoneySaga:
    return MoneySaga.start(SagaKind.RECHARGE, "r-1", "m-1", 5_000, CORPORATE, NOW)


def test_a_recharge_charges_the_member_account_into_the_corporate_one() -> None:
    saga = recharge()
    transfer = saga.account_found(MEMBER, NOW, POLICY)
    assert (transfer.source, transfer.target, transfer.amount) == (MEMBER, CORPORATE, 5_000)
    assert saga.step is Step.CHARGING
    assert saga.transfer_succeeded(transfer.transfer_id)
    assert saga.step is Step.SUCCEEDED and saga.wake_at is None


def test_a_withdrawal_pays_out_from_the_corporate_account() -> None:
    saga = MoneySaga.start(SagaKind.WITHDRAWAL, "r-1", "m-1", 5_000, CORPORATE, NOW)
    transfer = saga.account_found(MEMBER, NOW, POLICY)
    assert (transfer.source, transfer.target) == (CORPORATE, MEMBER)
    assert saga.transfer_failed(transfer.transfer_id, "insufficient-funds")
    assert (saga.step, saga.failure) == (Step.FAILED, "insufficient-funds")


def test_silence_repeats_the_same_transfer_with_growing_pauses() -> None:
    saga = recharge()
    first = saga.account_found(MEMBER, NOW, POLICY)
    waits = []
    for _ in range(5):
        assert saga.still_waiting(NOW, POLICY) == first
        assert saga.wake_at is not None
        waits.append(saga.wake_at - NOW)
    assert waits == [timedelta(seconds=s) for s in (1, 2, 4, 8, 8)]
    assert saga.step is Step.CHARGING


def test_answers_about_other_transfers_change_nothing() -> None:
    saga = recharge()
    saga.account_found(MEMBER, NOW, POLICY)
    assert not saga.transfer_succeeded("someone-else")
    assert not saga.transfer_failed("someone-else", "x")
    assert saga.step is Step.CHARGING


def test_a_credit_that_cannot_be_applied_is_refunded() -> None:
    saga = recharge()
    charge = saga.account_found(MEMBER, NOW, POLICY)
    saga.transfer_succeeded(charge.transfer_id)
    refund = saga.credit_impossible("balance-limit-exceeded", NOW, POLICY)
    assert (refund.source, refund.target, refund.amount) == (CORPORATE, MEMBER, 5_000)
    assert refund.transfer_id != charge.transfer_id
    assert saga.transfer_succeeded(refund.transfer_id)
    assert (saga.step, saga.failure) == (Step.FAILED, "balance-limit-exceeded")


def test_an_unreachable_banking_fails_only_after_the_deadline() -> None:
    saga = recharge()
    saga.banking_unreachable(NOW + timedelta(seconds=5), RetryPolicy(account_check_deadline=timedelta(seconds=30)))
    assert saga.step is Step.CHECKING_ACCOUNT
    saga.banking_unreachable(NOW + timedelta(seconds=31), RetryPolicy(account_check_deadline=timedelta(seconds=30)))
    assert (saga.step, saga.failure) == (Step.FAILED, "banking-unavailable")


def test_a_missing_account_fails_at_once() -> None:
    saga = recharge()
    saga.account_unusable("no-linked-account")
    assert (saga.step, saga.failure) == (Step.FAILED, "no-linked-account")
    with pytest.raises(ValueError):
        saga.still_waiting(NOW, POLICY)


def test_waiting_for_hours_keeps_asking_at_the_longest_pause() -> None:
    saga = recharge()
    saga.account_found(MEMBER, NOW, POLICY)
    for _ in range(500):
        saga.still_waiting(NOW, POLICY)
    assert saga.wake_at == NOW + POLICY.max_delay
