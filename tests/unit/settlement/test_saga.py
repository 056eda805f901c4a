"""A settlement line's saga: payout, then the ledger's settlement, then payment told; every failure gives the
payments back."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pay.platform.retry import RetryPolicy
from pay.settlement.domain.model import BankAccount, Schedule
from pay.settlement.domain.saga import (
    FinishCall,
    LineSaga,
    PayoutRequested,
    ReleaseCall,
    RunSaga,
    RunStep,
    ScheduleSaga,
    Step,
)

NOW = datetime(2026, 12, 2, tzinfo=UTC)
RETRY = RetryPolicy(timedelta(seconds=1), timedelta(seconds=8))
LEASE = timedelta(seconds=20)
CORPORATE = BankAccount("PAYBANK", "100-0000-0001")
SHOP = BankAccount("SH", "220-555")
SEOUL = ZoneInfo("Asia/Seoul")


def line(fee: int = 300, payout: int = 9_700) -> LineSaga:
    return LineSaga.start("st-1-f1", "st-1", "f1", fee, payout, CORPORATE, SHOP, NOW, RETRY)


def sent(saga: LineSaga) -> list[str]:
    names = [
        f"PAYOUT {event.transfer_id} {event.amount}"
        if isinstance(event, PayoutRequested)
        else f"SETTLE {event.transaction_id} {event.fee}/{event.payout} {event.bank_transfer_id}"
        for event in saga.events
    ]
    saga.events.clear()
    return names


def test_a_line_pays_out_then_settles_the_payable_then_tells_payment() -> None:
    saga = line()
    assert saga.step is Step.PAYING_OUT and sent(saga) == ["PAYOUT st-1-f1-payout 9700"]
    saga.payout_answered("st-1-f1-payout", "fb-1", None, NOW, RETRY)
    assert saga.step is Step.SETTLING and sent(saga) == ["SETTLE st-1-f1-settle 300/9700 st-1-f1-payout"]
    saga.ledger_answered("st-1-f1-settle", None, NOW, RETRY)
    assert saga.step is Step.FINISHING and saga.is_due(NOW) and sent(saga) == []
    call = saga.wake(NOW, RETRY, LEASE)
    assert call == FinishCall(1) and saga.wake_at == NOW + LEASE and not saga.is_due(NOW)
    saga.call_answered(1, True, NOW, RETRY)
    assert (saga.step, saga.is_finished, saga.wake_at, saga.failure) == (Step.SUCCEEDED, True, None, None)


def test_no_payout_skips_the_bank_and_nothing_to_move_skips_the_ledger() -> None:
    fee_only = line(fee=300, payout=0)
    assert fee_only.step is Step.SETTLING and sent(fee_only) == ["SETTLE st-1-f1-settle 300/0 None"]
    nothing = line(fee=0, payout=0)
    assert nothing.step is Step.FINISHING and sent(nothing) == []


def test_a_step_that_hears_nothing_sends_the_same_command_again_after_a_growing_pause() -> None:
    saga = line()
    sent(saga)
    assert saga.wake(NOW + timedelta(seconds=1), RETRY, LEASE) is None
    assert sent(saga) == ["PAYOUT st-1-f1-payout 9700"]
    assert saga.wake_at == NOW + timedelta(seconds=1) + RETRY.delay(2)


def released(saga: LineSaga) -> None:
    """Payment gives the line's payments back at the first call."""
    call = saga.wake(NOW, RETRY, LEASE)
    assert call == ReleaseCall(saga.attempts)
    saga.call_answered(call.attempt, True, NOW, RETRY)


def test_the_bank_refusing_the_payout_gives_the_payments_back_then_fails_the_line_with_its_reason() -> None:
    saga = line()
    saga.payout_answered("st-1-f1-payout", "fb-1", "account frozen", NOW, RETRY)
    assert (saga.step, saga.failure, saga.is_due(NOW), saga.is_finished) == (
        Step.RELEASING, "account frozen", True, False,
    )  # fmt: skip
    released(saga)
    assert (saga.step, saga.failure, saga.wake_at) == (Step.FAILED, "account frozen", None)
    assert sent(saga) == ["PAYOUT st-1-f1-payout 9700"]  # only the payout was ever asked for


def test_a_refused_settlement_with_nothing_paid_out_fails_the_line() -> None:
    saga = line(fee=300, payout=0)
    saga.ledger_answered("st-1-f1-settle", "ledger-transaction-id-reused", NOW, RETRY)
    assert saga.step is Step.RELEASING
    released(saga)
    assert (saga.step, saga.failure) == (Step.FAILED, "ledger-transaction-id-reused")


def test_a_line_that_cannot_be_settled_only_gives_its_payments_back() -> None:
    saga = LineSaga.start("k", "st-1", "f1", 30, 970, CORPORATE, None, NOW, RETRY, "no-settlement-account")
    assert (saga.step, saga.is_due(NOW), sent(saga)) == (Step.RELEASING, True, [])
    call = saga.wake(NOW, RETRY, LEASE)
    saga.call_answered(call.attempt, False, NOW, RETRY)  # payment did not answer: asked again later
    assert saga.step is Step.RELEASING and saga.wake_at == NOW + RETRY.delay(1)
    released(saga)
    assert (saga.step, saga.failure, sent(saga)) == (Step.FAILED, "no-settlement-account", [])


def test_a_settlement_refused_after_the_bank_paid_is_asked_again_under_a_new_id() -> None:
    saga = line()
    saga.payout_answered("st-1-f1-payout", "fb-1", None, NOW, RETRY)
    sent(saga)
    saga.ledger_answered("st-1-f1-settle", "bank-transfer-reused", NOW, RETRY)
    assert (saga.step, saga.failure, saga.is_finished) == (Step.SETTLING, "bank-transfer-reused", False)
    assert not saga.awaits_ledger("st-1-f1-settle") and saga.awaits_ledger("st-1-f1-settle-2")
    saga.wake(NOW + timedelta(seconds=5), RETRY, LEASE)
    assert sent(saga) == ["SETTLE st-1-f1-settle-2 300/9700 st-1-f1-payout"]
    saga.ledger_answered("st-1-f1-settle-2", None, NOW, RETRY)
    assert (saga.step, saga.failure) == (Step.FINISHING, None)


def test_payment_not_answering_is_asked_again_and_a_stale_answer_counts_for_nothing() -> None:
    saga = line(fee=0, payout=0)
    first = saga.wake(NOW, RETRY, LEASE)
    assert first == FinishCall(1)
    saga.call_answered(1, False, NOW, RETRY)
    assert saga.step is Step.FINISHING and saga.wake_at == NOW + RETRY.delay(1)
    assert saga.wake(NOW + timedelta(seconds=1), RETRY, LEASE) == FinishCall(2)
    assert not saga.calls(1)
    with pytest.raises(ValueError, match="does not wait"):
        saga.call_answered(1, True, NOW, RETRY)
    saga.call_answered(2, True, NOW, RETRY)
    assert saga.step is Step.SUCCEEDED


def test_answers_a_step_does_not_wait_for_are_refused() -> None:
    saga = line()
    assert not saga.awaits_payout("other-payout") and not saga.awaits_ledger("st-1-f1-settle")
    with pytest.raises(ValueError, match="does not wait"):
        saga.ledger_answered("st-1-f1-settle", None, NOW, RETRY)
    saga.payout_answered("st-1-f1-payout", "fb-1", "refused", NOW, RETRY)
    with pytest.raises(ValueError, match="does not wait"):
        saga.payout_answered("st-1-f1-payout", "fb-1", None, NOW, RETRY)
    with pytest.raises(ValueError, match="does not wait"):
        saga.call_answered(1, True, NOW, RETRY)


def test_a_payout_needs_the_franchise_account() -> None:
    with pytest.raises(ValueError, match="bank account"):
        LineSaga.start("k", "st-1", "f1", 0, 100, CORPORATE, None, NOW, RETRY)


def test_a_run_gathers_under_a_lease_and_retries_after_a_failure() -> None:
    run = RunSaga.start("st-1", NOW)
    assert run.is_due(NOW)
    call = run.wake(NOW, timedelta(seconds=120))
    assert run.gathers(call.attempt) and not run.is_due(NOW + timedelta(seconds=119))
    run.gather_failed("payment: down", NOW, RETRY)
    assert run.wake_at == NOW + RETRY.delay(1) and run.last_failure == "payment: down"
    again = run.wake(NOW + timedelta(seconds=1), timedelta(seconds=120))
    assert not run.gathers(call.attempt) and run.gathers(again.attempt)
    run.gathered()
    assert (run.step, run.is_finished, run.wake_at) == (RunStep.GATHERED, True, None)


def test_the_schedule_starts_each_day_once_and_catches_up_missed_days() -> None:
    schedule = Schedule.parse("daily@00:30")
    saga = ScheduleSaga.start(schedule, datetime(2026, 12, 2, 3, 0, tzinfo=UTC), SEOUL)  # 12:00 in Seoul
    assert saga.next_day == date(2026, 12, 2) and saga.wake_at == datetime(2026, 12, 3, 0, 30, tzinfo=SEOUL)
    assert saga.fire(SEOUL) == date(2026, 12, 2)
    assert saga.fire(SEOUL) == date(2026, 12, 3)
    assert saga.wake_at == datetime(2026, 12, 5, 0, 30, tzinfo=SEOUL)
    saga.reschedule(Schedule.parse("daily@01:00"), NOW, SEOUL)
    assert saga.next_day == date(2026, 12, 4) and saga.wake_at == datetime(2026, 12, 5, 1, 0, tzinfo=SEOUL)
    saga.reschedule(Schedule.parse("off"), NOW, SEOUL)
    assert saga.wake_at is None and not saga.is_due(NOW + timedelta(days=100))
    # Turned on again, it starts from today rather than catching up the days it was off.
    later = datetime(2027, 3, 1, 3, 0, tzinfo=UTC)
    saga.reschedule(schedule, later, SEOUL)
    assert saga.next_day == date(2027, 3, 1) and saga.wake_at == datetime(2027, 3, 2, 0, 30, tzinfo=SEOUL)
