"""The payment's own rules: the fee, the recharge of a shortfall, refunds within the price, a settlement's claim."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pay.payment.adapters.db import _payment_columns
from pay.payment.domain.model import (
    RECHARGE_STEP,
    BankAccount,
    ClaimStatus,
    FranchiseClaim,
    NoLinkedAccount,
    Payment,
    PaymentBeingSettled,
    PaymentEnded,
    PaymentFailed,
    PaymentMethod,
    PaymentNotApproved,
    PaymentStatus,
    PeriodReversed,
    RefundEnded,
    RefundExceedsPayment,
    RefundStatus,
    SettlementLineReleased,
    SettlementLineSettled,
    ensure_period,
    fee_for,
    recharge_for,
)

NOW = datetime(2026, 12, 2, tzinfo=UTC)
RATES = st.decimals(min_value=0, max_value=20, places=2, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize(
    ("amount", "rate", "fee"),
    [
        (10_000, "3.5", 350),
        (10_001, "3.5", 350),  # 350.035
        (100, "0.5", 1),  # 0.5 rounds up
        (300, "0.5", 2),  # 1.5 rounds up, not to even
        (500, "0.5", 3),  # 2.5 rounds up, not to even
        (99, "0.5", 0),  # 0.495 rounds down
        (1, "20", 0),
        (3, "20", 1),  # 0.6
        (10**12, "20", 2 * 10**11),
        (12_345, "0", 0),
        (12_345, "3.33", 411),  # 411.0885
    ],
)
def test_the_fee_is_rounded_half_up_to_the_won(amount: int, rate: str, fee: int) -> None:
    assert fee_for(amount, Decimal(rate)) == fee


@given(st.integers(0, 10**12), RATES)
def test_the_fee_is_decimal_arithmetic_rounded_half_up(amount: int, rate: Decimal) -> None:
    # The exact fee in hundredths of a percent, as integers: amount × rate × 100 / 10,000.
    hundredths = int(rate * 100)
    numerator = amount * hundredths
    whole, rest = divmod(numerator, 10_000)
    expected = whole + (1 if rest * 2 >= 10_000 else 0)
    assert fee_for(amount, rate) == expected
    assert Decimal(amount * hundredths) / Decimal(10_000) == (Decimal(amount) * rate / 100)
    assert fee_for(amount, rate) == int((Decimal(numerator) / 10_000).quantize(Decimal(1), ROUND_HALF_UP))


@pytest.mark.parametrize(
    ("amount", "available", "recharge"),
    [(25_000, 0, 30_000), (25_000, 5_000, 20_000), (25_000, 25_000, 0), (25_000, 90_000, 0), (1, 0, 10_000)],
)
def test_a_shortfall_is_recharged_rounded_up_to_the_next_10000_won(amount: int, available: int, recharge: int) -> None:
    assert recharge_for(amount, available) == recharge


@given(st.integers(1, 10**12), st.integers(0, 10**12))
def test_a_recharge_covers_the_shortfall_by_less_than_one_step(amount: int, available: int) -> None:
    recharge = recharge_for(amount, available)
    assert recharge % RECHARGE_STEP == 0 and available + recharge >= amount
    assert recharge == 0 or available + recharge - amount < RECHARGE_STEP


def approved(price: int = 10_000, rate: str = "3.5") -> Payment:
    payment = Payment.request("p1", "alice", "f1", price, PaymentMethod.WALLET, Decimal(rate), NOW)
    payment.end(None, NOW)
    return payment


def test_a_bank_payment_needs_the_payer_s_account() -> None:
    with pytest.raises(NoLinkedAccount):
        Payment.request("p1", "alice", "f1", 1_000, PaymentMethod.BANK, Decimal("1"), NOW)
    account = BankAccount("SH", "110-1")
    payment = Payment.request("p1", "alice", "f1", 1_000, PaymentMethod.BANK, Decimal("1"), NOW, payer_account=account)
    assert payment.payer_account == account and payment.status is PaymentStatus.REQUESTED


def test_partial_refunds_add_up_to_the_price_and_the_last_cancels_the_payment() -> None:
    payment = approved()
    for n, amount in enumerate((3_000, 3_000, None)):
        refund = payment.start_refund(f"r{n}", amount, NOW)
        refund.end(None, NOW)
        payment.refund_ended(refund, NOW)
    assert (payment.refunded_amount, payment.reserved_amount, payment.status) == (10_000, 0, PaymentStatus.CANCELLED)
    assert payment.fee == 0
    with pytest.raises(RefundExceedsPayment):
        payment.start_refund("r9", 1, NOW)


def test_the_fee_is_of_what_was_not_refunded() -> None:
    payment = approved(10_001, "3.5")
    assert payment.fee == 350
    refund = payment.start_refund("r1", 1, NOW)
    refund.end(None, NOW)
    payment.refund_ended(refund, NOW)
    assert (payment.fee, payment.status) == (350, PaymentStatus.APPROVED)


@given(st.lists(st.integers(1, 5_000), min_size=1, max_size=20))
def test_refunds_under_way_are_reserved_so_that_together_they_never_pass_the_price(amounts: list[int]) -> None:
    payment = approved(10_000)
    accepted = []
    for n, amount in enumerate(amounts):
        try:
            accepted.append(payment.start_refund(f"r{n}", amount, NOW))
        except RefundExceedsPayment:
            assert sum(refund.amount for refund in accepted) + amount > 10_000
    assert sum(refund.amount for refund in accepted) == payment.reserved_amount <= 10_000
    for refund in accepted:
        refund.end(None, NOW)
        payment.refund_ended(refund, NOW)
    assert payment.refunded_amount == sum(refund.amount for refund in accepted)
    assert payment.reserved_amount == 0
    assert (payment.status is PaymentStatus.CANCELLED) == (payment.refunded_amount == 10_000)


def test_a_failed_refund_frees_its_reserved_amount() -> None:
    payment = approved()
    refund = payment.start_refund("r1", None, NOW)
    with pytest.raises(RefundExceedsPayment):
        payment.start_refund("r2", 1, NOW)
    refund.end("account-frozen", NOW)
    payment.refund_ended(refund, NOW)
    assert (refund.status, refund.reason) == (RefundStatus.FAILED, "account-frozen")
    assert (payment.refunded_amount, payment.reserved_amount, payment.refundable) == (0, 0, 10_000)


def test_only_a_made_payment_can_be_refunded() -> None:
    requested = Payment.request("p1", "alice", "f1", 1_000, PaymentMethod.WALLET, Decimal("1"), NOW)
    with pytest.raises(PaymentNotApproved):
        requested.start_refund("r1", None, NOW)
    requested.end("insufficient-balance", NOW)
    with pytest.raises(PaymentFailed):
        requested.start_refund("r1", None, NOW)
    for amount in (0, 1_001):
        with pytest.raises(RefundExceedsPayment):
            approved(1_000).start_refund("r1", amount, NOW)


def test_the_stored_fee_is_the_domain_s_fee_and_follows_refunds() -> None:
    payment = approved(10_001, "3.5")
    assert _payment_columns(payment)["fee"] == payment.fee == 350
    refund = payment.start_refund("r1", 9_001, NOW)
    refund.end(None, NOW)
    payment.refund_ended(refund, NOW)
    assert _payment_columns(payment)["fee"] == payment.fee == fee_for(1_000, Decimal("3.5")) == 35


def test_a_payment_being_settled_refuses_refunds_and_once_settled_a_refund_is_owed() -> None:
    payment = approved()
    # A settlement's claim makes it SETTLING (set-based, in payment's database).
    payment.status, payment.settlement_id = PaymentStatus.SETTLING, "s1"
    with pytest.raises(PaymentBeingSettled):
        payment.start_refund("r1", 1_000, NOW)
    assert (payment.reserved_amount, payment.refundable) == (0, 10_000)

    payment.status = PaymentStatus.SETTLED  # the line finished
    refund = payment.start_refund("r1", 2_000, NOW)
    assert refund.after_settlement
    refund.end(None, NOW)
    payment.refund_ended(refund, NOW)
    assert (payment.refunded_amount, payment.status) == (2_000, PaymentStatus.SETTLED)

    released = approved()  # a line that failed gave it back: a refund is an ordinary one
    assert not released.start_refund("r2", 1_000, NOW).after_settlement


def claim() -> FranchiseClaim:
    return FranchiseClaim("s1", "f1", gross=10_000, fee=350, payment_count=2, owed=0)


def test_a_claim_is_finished_once_and_then_never_released() -> None:
    finished = claim()
    assert finished.finish() and not finished.finish()
    assert finished.status is ClaimStatus.SETTLED
    with pytest.raises(SettlementLineSettled):
        finished.release()
    assert finished.status is ClaimStatus.SETTLED


def test_a_claim_is_released_once_and_then_never_finished() -> None:
    released = claim()
    assert released.release() and not released.release()
    assert released.status is ClaimStatus.RELEASED
    with pytest.raises(SettlementLineReleased):
        released.finish()
    assert released.status is ClaimStatus.RELEASED


def test_a_period_starts_before_it_ends() -> None:
    ensure_period(NOW, NOW)
    with pytest.raises(PeriodReversed):
        ensure_period(NOW.replace(day=3), NOW)


def test_a_payment_that_ends_records_how_and_a_refund_that_ends_records_whom_it_gave_back_to() -> None:
    payment = approved()
    failed = Payment.request("p2", "bob", "f1", 1_000, PaymentMethod.WALLET, Decimal("1"), NOW)
    failed.end("wallet frozen", NOW)
    assert [
        (event.payment.payment_id, event.payment.status) for event in payment.events if isinstance(event, PaymentEnded)
    ] == [("p1", PaymentStatus.APPROVED)]
    assert failed.events == [PaymentEnded(replace(failed, events=[]))]
    assert failed.events[0].payment.reason == "wallet frozen"
    payment.events.clear()
    refund = payment.start_refund("r1", 4_000, NOW)
    refund.end(None, NOW)
    payment.refund_ended(refund, NOW)
    assert payment.events == [RefundEnded(refund, "alice")]
    refund.amount = 1  # the event keeps the refund as it ended
    assert isinstance(payment.events[0], RefundEnded) and payment.events[0].refund.amount == 4_000
