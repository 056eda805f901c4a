from datetime import UTC, datetime, timedelta

import pytest

from pay.money.domain.requests import BankLeg
from pay.money.domain.sagas import (
    AccountCheck,
    BankAccount,
    BankTransfer,
    Capture,
    Credit,
    Hold,
    MoneySaga,
    RechargeSaga,
    Release,
    SagaTiming,
    Step,
    WithdrawalSaga,
)
from pay.platform.retry import RetryPolicy

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CORPORATE = BankAccount("PAYBANK", "100")
MEMBER = BankAccount("KB", "200")
POLICY = RetryPolicy(first_delay=timedelta(seconds=1), max_delay=timedelta(seconds=8))
TIMING = SagaTiming(
    retry=POLICY,
    account_check_deadline=timedelta(seconds=30),
    call_lease=timedelta(seconds=20),
    refund_retry=RetryPolicy(first_delay=timedelta(seconds=2), max_delay=timedelta(seconds=5)),
    refund_deadline=timedelta(seconds=20),
)


def recharge() -> RechargeSaga:
    saga, effects = RechargeSaga.start("r-1", "m-1", 5_000, CORPORATE, NOW)
    assert effects == ()
    return saga


def withdrawal() -> WithdrawalSaga:
    saga, effects = WithdrawalSaga.start("r-1", "m-1", 5_000, CORPORATE, NOW)
    assert effects == (Hold(5_000),)
    return saga


def asked(saga: MoneySaga) -> BankTransfer:
    """The transfer the saga last asked banking for, taken off the saga as the unit of work does."""
    requested = saga.events.pop()
    assert requested.saga_id == saga.saga_id
    return requested.transfer


def test_checking_the_account_takes_a_lease_and_only_its_own_answer_counts() -> None:
    saga = recharge()
    assert saga.is_due(NOW)
    check = saga.wake(NOW, TIMING)
    assert check == AccountCheck("m-1", 1)
    assert saga.wake_at == NOW + TIMING.call_lease and saga.events == []
    assert not saga.is_due(NOW + TIMING.call_lease - timedelta(seconds=1))
    # The call outlived its lease (say the instance making it died): the timer has it made again.
    again = saga.wake(NOW + TIMING.call_lease, TIMING)
    assert again == AccountCheck("m-1", 2)
    assert not saga.checks_account(check.attempt) and saga.checks_account(again.attempt)
    saga.account_found(MEMBER, NOW, TIMING)
    assert not saga.checks_account(again.attempt)


def test_a_saga_waiting_for_the_bank_wakes_up_to_ask_again_without_a_call() -> None:
    saga = recharge()
    saga.account_found(MEMBER, NOW, TIMING)
    first = asked(saga)
    assert saga.wake(NOW, TIMING) is None
    assert asked(saga) == first and saga.wake_at == NOW + timedelta(seconds=1)


def test_a_recharge_charges_the_member_account_into_the_corporate_one() -> None:
    saga = recharge()
    assert saga.account_found(MEMBER, NOW, TIMING) == ()
    transfer = asked(saga)
    assert (transfer.source, transfer.target, transfer.amount) == (MEMBER, CORPORATE, 5_000)
    assert saga.step is Step.CHARGING
    assert saga.awaits(transfer.transfer_id)
    assert saga.transfer_succeeded(transfer.transfer_id) == (Credit(5_000),)
    assert saga.step is Step.CREDITING and not saga.is_finished
    saga.effects_applied()
    assert saga.step is Step.SUCCEEDED and saga.wake_at is None


def test_a_withdrawal_pays_out_from_the_corporate_account() -> None:
    saga = withdrawal()
    saga.account_found(MEMBER, NOW, TIMING)
    transfer = asked(saga)
    assert (transfer.source, transfer.target) == (CORPORATE, MEMBER)
    assert saga.transfer_failed(transfer.transfer_id, "insufficient-funds", NOW, TIMING) == (Release(),)
    assert (saga.step, saga.failure) == (Step.FAILED, "insufficient-funds")


def test_a_paid_out_withdrawal_takes_its_hold() -> None:
    saga = withdrawal()
    saga.account_found(MEMBER, NOW, TIMING)
    assert saga.transfer_succeeded(asked(saga).transfer_id) == (Capture(),)
    assert (saga.step, saga.failure, saga.wake_at) == (Step.SUCCEEDED, None, None)


def test_the_bank_leg_of_a_transfer_is_signed_as_the_corporate_account_sees_it() -> None:
    charging = recharge()
    charging.account_found(MEMBER, NOW, TIMING)
    charge = asked(charging)
    assert charging.bank_leg() == BankLeg(charge.transfer_id, "r-1", 5_000)
    refunding_saga, refund = refunding()
    assert refunding_saga.bank_leg() == BankLeg(refund.transfer_id, "r-1", -5_000)
    paying_out = withdrawal()
    paying_out.account_found(MEMBER, NOW, TIMING)
    assert paying_out.bank_leg() == BankLeg(asked(paying_out).transfer_id, "r-1", -5_000)
    paying_out.transfer_succeeded(paying_out.bank_leg().transfer_id)
    with pytest.raises(ValueError):
        paying_out.bank_leg()


def test_silence_repeats_the_same_transfer_with_growing_pauses() -> None:
    saga = recharge()
    saga.account_found(MEMBER, NOW, TIMING)
    first = asked(saga)
    waits = []
    for _ in range(5):
        saga.still_waiting(NOW, TIMING)
        assert asked(saga) == first
        assert saga.wake_at is not None
        waits.append(saga.wake_at - NOW)
    assert waits == [timedelta(seconds=s) for s in (1, 2, 4, 8, 8)]
    assert saga.step is Step.CHARGING


def test_answers_about_other_transfers_change_nothing() -> None:
    saga = recharge()
    saga.account_found(MEMBER, NOW, TIMING)
    assert not saga.awaits("someone-else")
    with pytest.raises(ValueError):
        saga.transfer_succeeded("someone-else")
    with pytest.raises(ValueError):
        saga.transfer_failed("someone-else", "x", NOW, TIMING)
    assert saga.step is Step.CHARGING


def test_a_credit_that_cannot_be_applied_is_refunded() -> None:
    saga = recharge()
    saga.account_found(MEMBER, NOW, TIMING)
    charge = asked(saga)
    assert saga.transfer_succeeded(charge.transfer_id) == (Credit(5_000),)
    saga.effects_refused("balance-limit-exceeded", NOW, TIMING)
    assert saga.step is Step.REFUNDING
    refund = asked(saga)
    assert (refund.source, refund.target, refund.amount) == (CORPORATE, MEMBER, 5_000)
    assert refund.transfer_id != charge.transfer_id
    assert saga.transfer_succeeded(refund.transfer_id) == ()
    assert (saga.step, saga.failure) == (Step.FAILED, "balance-limit-exceeded")


def refunding() -> tuple[RechargeSaga, BankTransfer]:
    """A recharge whose wallet could not take the money, and the refund it asked for."""
    saga = recharge()
    saga.account_found(MEMBER, NOW, TIMING)
    saga.transfer_succeeded(asked(saga).transfer_id)
    saga.effects_refused("balance-limit-exceeded", NOW, TIMING)
    return saga, asked(saga)


def test_a_refused_refund_is_tried_again_with_new_transfer_ids_until_the_deadline() -> None:
    saga, refund = refunding()
    tried = [(NOW, refund.transfer_id)]
    assert saga.transfer_failed(refund.transfer_id, "account-frozen", NOW, TIMING) == ()
    while saga.step is Step.REFUNDING:
        assert saga.events == [] and saga.wake_at is not None
        moment = saga.wake_at
        assert saga.wake(moment, TIMING) is None
        refund = asked(saga)
        tried.append((moment, refund.transfer_id))
        saga.transfer_failed(refund.transfer_id, "account-closed", moment, TIMING)
    assert [transfer_id for _, transfer_id in tried] == ["r-1-refund"] + [f"r-1-refund-{n}" for n in range(2, 6)]
    # Pauses of 2, 4, then at most 5 seconds; a try at 21 s would start past the 20 s deadline.
    assert [moment - NOW for moment, _ in tried] == [timedelta(seconds=s) for s in (0, 2, 6, 11, 16)]
    assert (saga.step, saga.failure) == (Step.FAILED, "balance-limit-exceeded; refund refused: account-closed")
    assert saga.refund_refused == "account-closed"


def test_a_refund_taken_after_a_refusal_fails_the_recharge_for_its_first_reason() -> None:
    saga, refund = refunding()
    saga.transfer_failed(refund.transfer_id, "account-frozen", NOW, TIMING)
    assert not saga.awaits(refund.transfer_id), "a refused transfer id is never asked for again"
    assert saga.wake_at is not None
    saga.wake(saga.wake_at, TIMING)
    second = asked(saga)
    assert second.transfer_id == "r-1-refund-2" and (second.source, second.target) == (CORPORATE, MEMBER)
    assert saga.transfer_succeeded(second.transfer_id) == ()
    assert (saga.step, saga.failure, saga.refund_refused) == (Step.FAILED, "balance-limit-exceeded", None)


def test_a_final_step_is_never_left() -> None:
    saga = recharge()
    saga.account_found(MEMBER, NOW, TIMING)
    saga.transfer_succeeded(asked(saga).transfer_id)
    saga.effects_applied()
    with pytest.raises(ValueError):
        saga.effects_refused("balance-limit-exceeded", NOW, TIMING)
    assert saga.step is Step.SUCCEEDED and saga.events == []


def test_an_unreachable_banking_fails_only_after_the_deadline() -> None:
    saga = recharge()
    saga.banking_unreachable(NOW + timedelta(seconds=5), TIMING)
    assert saga.step is Step.CHECKING_ACCOUNT
    saga.banking_unreachable(NOW + timedelta(seconds=31), TIMING)
    assert (saga.step, saga.failure) == (Step.FAILED, "banking-unavailable")


def test_a_missing_account_fails_at_once() -> None:
    saga = recharge()
    assert saga.account_unusable("no-linked-account") == ()
    assert (saga.step, saga.failure) == (Step.FAILED, "no-linked-account")
    with pytest.raises(ValueError):
        saga.still_waiting(NOW, TIMING)


def test_a_withdrawal_without_an_account_gives_the_hold_back() -> None:
    saga = withdrawal()
    assert saga.account_unusable("linked-account-invalid") == (Release(),)
    assert (saga.step, saga.failure) == (Step.FAILED, "linked-account-invalid")


def test_waiting_for_hours_keeps_asking_at_the_longest_pause() -> None:
    saga = recharge()
    saga.account_found(MEMBER, NOW, TIMING)
    for _ in range(500):
        saga.still_waiting(NOW, TIMING)
    assert saga.wake_at == NOW + POLICY.max_delay
