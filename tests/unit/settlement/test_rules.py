"""A line's sums, the period, and the schedule: settlement's rules as plain Python."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pay.settlement.domain.model import (
    CarriedDebt,
    Claimed,
    InvalidPeriod,
    Line,
    LineEnded,
    LineStatus,
    LineSums,
    Period,
    Schedule,
    Settlement,
    SettlementStatus,
    line_key,
)

SEOUL = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 12, 2, tzinfo=UTC)


@st.composite
def claims(draw: st.DrawFn) -> Claimed:
    gross = draw(st.integers(0, 10**12))
    fee = draw(st.integers(0, gross // 5))
    return Claimed("f1", gross, fee, draw(st.integers(1, 10**6)), draw(st.integers(0, 10**9)))


debts = st.builds(CarriedDebt, st.uuids().map(str), st.just("f1"), st.integers(1, 10**9))


@given(claims(), st.lists(debts, max_size=2))
def test_a_line_pays_gross_less_fee_less_owed_and_carries_what_it_cannot_deduct(
    claimed: Claimed, carried_in: list[CarriedDebt]
) -> None:
    sums = LineSums.of(claimed, carried_in)

    assert (sums.gross, sums.fee) == (claimed.gross, claimed.fee)
    assert sums.owed == claimed.owed_refunds + sum(d.amount for d in carried_in)
    assert sums.payout >= 0 and sums.carried >= 0
    assert min(sums.payout, sums.carried) == 0
    # Nothing is created or lost: what is paid out less what stays owed is exactly gross − fee − owed.
    assert sums.payout - sums.carried == sums.gross - sums.fee - sums.owed


@given(claims())
def test_without_refunds_the_payout_is_gross_less_fee(claimed: Claimed) -> None:
    sums = LineSums.of(Claimed("f1", claimed.gross, claimed.fee, claimed.payment_count, 0))
    assert (sums.payout, sums.carried) == (sums.gross - sums.fee, 0)


def test_refunds_owed_past_the_payout_are_carried() -> None:
    sums = LineSums.of(Claimed("f1", 10_000, 300, 1, 12_000), [CarriedDebt("d1", "f1", 500)])
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


def test_a_period_is_the_instants_from_its_first_business_day_to_the_day_after_its_last() -> None:
    since, until = Period(date(2026, 12, 1), date(2026, 12, 2)).instants(SEOUL)
    # 2026-12-01 00:00 in Seoul is 2026-11-30 15:00 UTC.
    assert (since, until) == (datetime(2026, 11, 30, 15, tzinfo=UTC), datetime(2026, 12, 2, 15, tzinfo=UTC))


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


def test_a_run_read_without_its_lines_takes_its_status_from_theirs() -> None:
    run = Settlement.start("st-1", Period(date(2026, 12, 1), date(2026, 12, 1)), NOW)
    run.gathered = True
    run.refresh_from({LineStatus.SUCCEEDED, LineStatus.PENDING}, NOW)
    assert run.status is SettlementStatus.RUNNING and run.lines == []
    run.refresh_from({LineStatus.SUCCEEDED}, NOW)
    assert run.status is SettlementStatus.SUCCEEDED


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


def test_a_line_that_ends_records_it_once() -> None:
    line = Line("st-1", "f1", LineSums(10, 1, 0, 9, 0), 2)
    line.end("bank refused")
    assert [(event.line.status, event.line.reason) for event in line.events] == [(LineStatus.FAILED, "bank refused")]
    assert line.events == [
        LineEnded(Line("st-1", "f1", LineSums(10, 1, 0, 9, 0), 2, LineStatus.FAILED, "bank refused"))
    ]
