"""The payment and refund sagas' transitions: every step sends one command, every answer moves it on once."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from pay.payment.domain.model import BankAccount, Payment, PaymentMethod, Refund
from pay.payment.domain.saga import FirmBankingRequested, LedgerCommandSent, PaymentSaga, RefundSaga, Step
from pay.platform.retry import RetryPolicy

NOW = datetime(2026, 12, 2, tzinfo=UTC)
RETRY = RetryPolicy(timedelta(seconds=1), timedelta(seconds=8))
CORPORATE = BankAccount("PAYBANK", "100-0000-0001")
PAYER = BankAccount("SH", "110-555")


def payment(method: PaymentMethod = PaymentMethod.WALLET) -> Payment:
    account = PAYER if method is PaymentMethod.BANK else None
    return Payment.request("p1", "alice", "f1", 25_000, method, Decimal("3.5"), NOW, payer_account=account)


def refund_of(method: PaymentMethod) -> tuple[Payment, Refund, RefundSaga]:
    paid = payment(method)
    paid.end(None, NOW)
    refund = paid.start_refund("r1", 5_000, NOW)
    return paid, refund, RefundSaga.start(paid, refund, CORPORATE, NOW, RETRY)


def sent(saga: PaymentSaga | RefundSaga) -> list[str]:
    names = [
        f"{event.kind.value} {event.transaction_id}"
        if isinstance(event, LedgerCommandSent)
        else f"BANK {event.transfer_id}"
        for event in saga.events
    ]
    saga.events.clear()
    return names


def test_a_wallet_payment_recharges_the_shortfall_then_pays() -> None:
    saga = PaymentSaga.start(payment(), 30_000, CORPORATE, NOW, RETRY)
    (recharge,) = saga.events
    assert isinstance(recharge, LedgerCommandSent) and (recharge.membership_id, recharge.amount) == ("alice", 30_000)
    assert saga.step is Step.RECHARGING and sent(saga) == ["RECHARGE p1-recharge"]
    saga.ledger_answered("p1-recharge", None, NOW, RETRY)
    (pay,) = saga.events
    assert isinstance(pay, LedgerCommandSent) and (pay.membership_id, pay.franchise_id, pay.amount) == (
        "alice",
        "f1",
        25_000,
    )
    assert saga.step is Step.PAYING and sent(saga) == ["PAY p1-pay"]
    saga.ledger_answered("p1-pay", None, NOW, RETRY)
    assert (saga.step, saga.failure, saga.wake_at, saga.recharge_done) == (Step.SUCCEEDED, None, None, True)


def test_a_wallet_payment_with_enough_money_pays_at_once() -> None:
    saga = PaymentSaga.start(payment(), 0, CORPORATE, NOW, RETRY)
    assert saga.step is Step.PAYING and sent(saga) == ["PAY p1-pay"]
    assert saga.ledger_transactions() == ["p1-pay"]


@pytest.mark.parametrize(("recharge", "step"), [(10_000, "p1-recharge"), (0, "p1-pay")])
def test_a_refused_recharge_or_payment_fails_it_with_money_s_reason(recharge: int, step: str) -> None:
    saga = PaymentSaga.start(payment(), recharge, CORPORATE, NOW, RETRY)
    saga.ledger_answered(step, "insufficient-balance", NOW, RETRY)
    assert (saga.step, saga.failure, saga.wake_at) == (Step.FAILED, "insufficient-balance", None)


def test_a_bank_payment_charges_the_payer_s_account_then_credits_the_payable() -> None:
    saga = PaymentSaga.start(payment(PaymentMethod.BANK), 0, CORPORATE, NOW, RETRY)
    (charge,) = saga.events
    assert isinstance(charge, FirmBankingRequested)
    assert (charge.transfer_id, charge.source, charge.target, charge.amount) == ("p1-charge", PAYER, CORPORATE, 25_000)
    saga.events.clear()
    saga.transfer_answered("p1-charge", "fb-1", None, NOW, RETRY)
    (credit,) = saga.events
    # The credit names the charge as its bank leg, so that the ledger pairs with the corporate account.
    assert isinstance(credit, LedgerCommandSent) and (credit.transaction_id, credit.bank_transfer_id) == (
        "p1-credit",
        "p1-charge",
    )
    assert saga.step is Step.CREDITING
    saga.events.clear()
    saga.ledger_answered("p1-credit", None, NOW, RETRY)
    assert (saga.step, saga.firmbanking_request_id) == (Step.SUCCEEDED, "fb-1")


def test_a_charge_the_bank_refuses_fails_the_payment_with_the_bank_s_reason() -> None:
    saga = PaymentSaga.start(payment(PaymentMethod.BANK), 0, CORPORATE, NOW, RETRY)
    saga.events.clear()
    saga.transfer_answered("p1-charge", "fb-1", "insufficient-funds: balance 100", NOW, RETRY)
    assert (saga.step, saga.failure, saga.events) == (Step.FAILED, "insufficient-funds: balance 100", [])


def test_a_refused_credit_after_the_bank_moved_money_is_asked_again_never_an_outcome() -> None:
    saga = PaymentSaga.start(payment(PaymentMethod.BANK), 0, CORPORATE, NOW, RETRY)
    saga.transfer_answered("p1-charge", "fb-1", None, NOW, RETRY)
    saga.ledger_answered("p1-credit", "franchise-not-found", NOW, RETRY)
    assert saga.step is Step.CREDITING and saga.wake_at is not None and saga.failure is None


def test_a_step_that_hears_nothing_sends_the_same_command_again_later_and_later() -> None:
    saga = PaymentSaga.start(payment(), 0, CORPORATE, NOW, RETRY)
    first = saga.events[0]
    saga.events.clear()
    assert saga.wake_at == NOW + timedelta(seconds=1) and not saga.is_due(NOW)
    later = NOW + timedelta(seconds=1)
    assert saga.is_due(later)
    saga.wake(later, RETRY)
    assert saga.events == [first] and saga.wake_at == later + timedelta(seconds=2)


def test_an_answer_the_saga_does_not_wait_for_is_refused() -> None:
    saga = PaymentSaga.start(payment(), 10_000, CORPORATE, NOW, RETRY)
    assert saga.awaits_ledger("p1-recharge") and not saga.awaits_ledger("p1-pay")
    assert not saga.awaits_transfer("p1-charge")
    with pytest.raises(ValueError):
        saga.ledger_answered("p1-pay", None, NOW, RETRY)
    saga.ledger_answered("p1-recharge", None, NOW, RETRY)
    saga.ledger_answered("p1-pay", None, NOW, RETRY)
    assert not saga.awaits_ledger("p1-pay")  # a late copy finds a final step: it changes nothing


def test_a_wallet_refund_gives_the_amount_back_from_the_payable() -> None:
    _, _, saga = refund_of(PaymentMethod.WALLET)
    (command,) = saga.events
    assert isinstance(command, LedgerCommandSent)
    assert (command.membership_id, command.franchise_id, command.amount) == ("alice", "f1", 5_000)
    assert sent(saga) == ["REFUND r1-refund"]
    saga.ledger_answered("r1-refund", None, NOW, RETRY)
    assert (saga.step, saga.failure) == (Step.SUCCEEDED, None)


def test_a_refused_wallet_refund_fails_with_money_s_reason() -> None:
    _, _, saga = refund_of(PaymentMethod.WALLET)
    saga.ledger_answered("r1-refund", "wallet-not-found", NOW, RETRY)
    assert (saga.step, saga.failure) == (Step.FAILED, "wallet-not-found")


def test_a_bank_refund_pays_the_payer_back_then_debits_the_payable() -> None:
    _, _, saga = refund_of(PaymentMethod.BANK)
    (payback,) = saga.events
    assert isinstance(payback, FirmBankingRequested)
    assert (payback.transfer_id, payback.source, payback.target, payback.amount) == (
        "r1-refund",
        CORPORATE,
        PAYER,
        5_000,
    )
    saga.events.clear()
    saga.transfer_answered("r1-refund", "fb-2", None, NOW, RETRY)
    (debit,) = saga.events
    assert isinstance(debit, LedgerCommandSent)
    assert (debit.transaction_id, debit.bank_transfer_id, debit.membership_id) == ("r1-payable", "r1-refund", None)
    saga.events.clear()
    saga.ledger_answered("r1-payable", "bank-transfer-reused", NOW, RETRY)
    assert saga.step is Step.DEBITING  # the bank paid: the ledger must take it, so it is asked again
    saga.ledger_answered("r1-payable", None, NOW, RETRY)
    assert saga.step is Step.SUCCEEDED


def test_a_bank_refund_the_bank_refuses_fails_and_debits_nothing() -> None:
    _, _, saga = refund_of(PaymentMethod.BANK)
    saga.events.clear()
    saga.transfer_answered("r1-refund", "fb-2", "account-frozen", NOW, RETRY)
    assert (saga.step, saga.failure, saga.events) == (Step.FAILED, "account-frozen", [])
