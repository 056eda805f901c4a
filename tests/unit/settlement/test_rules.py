"""A line's sums, the period, and the schedule: settlement's rules as plain Python."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pay.settlement.domain.model import (
    CarriedDebt,
    InvalidPeriod,
    Line,
    LineStatus,
    LineSums,
    OwedRefund,
    PaymentToSettle,
    Period,
    Schedule,
    Settlement,
    SettlementStatus,
    line_key,
    to_settle,
)

SEOUL = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 12, 2, tzinfo=UTC)


@st.composite
def payments(draw: st.DrawFn) -> PaymentToSettle:
    price = draw(st.integers(1, 10**9))
    refunded = draw(st.integers(0, price))
    fee = draw(st.integers(0, (price - refunded) // 5))
    return PaymentToSettle(f"p{draw(st.uuids())}", "f1", price, refunded, fee, NOW)


refunds = st.builds(OwedRefund, st.uuids().map(str), st.just("p0"), st.integers(1, 10**9))
debts = st.builds(CarriedDebt, st.uuids().map(str), st.just("f1"), st.integers(1, 10**9))


@given(st.lists(payments(), max_size=20), st.lists(refunds, max_size=5), st.lists(debts, max_size=2))
def test_a_line_pays_gross_less_fee_less_owed_and_carries_what_it_cannot_deduct(
    paid: list[PaymentToSettle], owed: list[OwedRefund], carried_in: list[CarriedDebt]
) -> None:
    sums = LineSums.of(paid, owed, carried_in)

    assert sums.gross == sum(p.price - p.refunded for p in paid)
    assert sums.fee == sum(p.fee for p in paid)
    assert sums.owed == sum(r.amount for r in owed) + sum(d.amount for d in carried_in)
    assert sums.payout >= 0 and sums.carried >= 0
    assert min(sums.payout, sums.carried) == 0
    # Nothing is created or lost: what is paid out less what stays owed is exactly gross − fee − owed.
    assert sums.payout - sums.carried == sums.gross - sums.fee - sums.owed


@given(st.lists(payments(), min_size=1, max_size=20))
def test_without_refunds_the_payout_is_gross_less_fee(paid: list[PaymentToSettle]) -> None:
    sums = LineSums.of(paid, [])
    assert (sums.payout, sums.carried) == (sums.gross - sums.fee, 0)


def test_refunds_owed_past_the_payout_are_carried() -> None:
    paid = [PaymentToSettle("p1", "f1", 10_000, 0, 300, NOW)]
    sums = LineSums.of(paid, [OwedRefund("r1", "p0", 12_000)], [CarriedDebt("d1", "f1", 500)])
    assert sums == LineSums(gross=10_000, fee=300, owed=12_500, payout=0, carried=2_800)


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (date(2026, 12, 2), date(2026, 12, 1)),
        (date(2026, 11, 1), date(2026, 12, 2)),
        (date(2026, 1, 1), date(2026, 2, 1)),
    ],
)
def test_a_period_runs_forwards_for_at_most_31_days(first: date, last: date) -> None:
    with pytest.raises(InvalidPeriod):
        Period(first, last)


def test_a_period_of_31_days_or_one_day_is_fine() -> None:
    assert Period(date(2026, 1, 1), date(2026, 1, 31)).last == date(2026, 1, 31)
    assert Period(date(2026, 1, 1), date(2026, 1, 1))


def test_only_approved_unsettled_payments_of_the_period_in_the_business_time_zone_are_settled() -> None:
    day = Period(date(2026, 12, 1), date(2026, 12, 1))
    # 2026-12-01 00:00 in Seoul is 2026-11-30 15:00 UTC.
    inside = PaymentToSettle("a", "f1", 1_000, 0, 30, datetime(2026, 11, 30, 15, 0, tzinfo=UTC))
    last_moment = PaymentToSettle("b", "f2", 1_000, 0, 30, datetime(2026, 12, 1, 14, 59, 59, tzinfo=UTC))
    before = PaymentToSettle("c", "f1", 1_000, 0, 30, datetime(2026, 11, 30, 14, 59, 59, tzinfo=UTC))
    after = PaymentToSettle("d", "f1", 1_000, 0, 30, datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    settled = PaymentToSettle("e", "f1", 1_000, 0, 30, datetime(2026, 12, 1, 3, 0, tzinfo=UTC), settleable=False)

    assert to_settle([inside, last_moment, before, after, settled], day, SEOUL) == {"f1": [inside], "f2": [last_moment]}


def test_a_line_key_fits_the_ids_derived_from_it() -> None:
    assert line_key("st-abc", "f1") == "st-abc-f1"
    long = line_key("st-0123456789ab", "f" * 64)
    assert len(f"{long}-settle-99") <= 64 and long != line_key("st-0123456789ab", "g" * 64)


def test_a_run_is_running_until_gathered_and_every_line_ended() -> None:
    run = Settlement.start("st-1", Period(date(2026, 12, 1), date(2026, 12, 1)), NOW)
    run.refresh(NOW)
    assert run.status is SettlementStatus.RUNNING
    run.gathered = True
    run.refresh(NOW)
    assert run.status is SettlementStatus.SUCCEEDED  # nothing to settle
    sums = LineSums(1, 0, 0, 1, 0)
    run.lines = [Line("st-1", "f1", sums, 1), Line("st-1", "f2", sums, 1)]
    run.refresh(NOW)
    assert run.status is SettlementStatus.RUNNING
    run.lines[0].end(None)
    run.lines[1].end("bank refused")
    run.refresh(NOW)
    assert run.status is SettlementStatus.PARTIALLY_FAILED
    run.lines[0].status = LineStatus.FAILED
    run.refresh(NOW)
    assert run.status is SettlementStatus.FAILED
    with pytest.raises(ValueError, match="already ended"):
        run.lines[0].end(None)


def test_the_schedule_runs_daily_in_the_business_time_zone_or_not_at_all() -> None:
    daily = Schedule.parse("daily@00:30")
    assert daily == Schedule(time(0, 30)) and str(daily) == "daily@00:30"
    assert daily.run_time(date(2026, 12, 1), SEOUL) == datetime(2026, 12, 2, 0, 30, tzinfo=SEOUL)
    assert Schedule.parse("off").run_time(date(2026, 12, 1), SEOUL) is None
    for bad in ("hourly@00:30", "daily@25:00", "daily", ""):
        with pytest.raises(ValueError, match="settlement schedule"):
            Schedule.parse(bad)
    # A day on which clocks change would still start at 00:30 local time (Seoul keeps one offset all year).
    assert daily.run_time(date(2026, 11, 30), SEOUL) == datetime(2026, 12, 1, 0, 30, tzinfo=SEOUL)
