"""The remittance's own rules: the recharge of a shortfall, the business day and the daily limit."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pay.remittance.domain.model import (
    RECHARGE_STEP,
    DailyLimitExceeded,
    Remittance,
    RemittanceEnded,
    RemittanceStatus,
    SendingToOneself,
    business_day,
    ensure_within_daily_limit,
    recharge_for,
)

SEOUL = ZoneInfo("Asia/Seoul")


@pytest.mark.parametrize(
    ("amount", "available", "recharge"),
    [(25_000, 0, 30_000), (25_000, 5_000, 20_000), (25_000, 25_000, 0), (25_000, 90_000, 0), (1, 0, 10_000)],
)
def test_a_shortfall_is_recharged_rounded_up_to_the_next_10000_won(amount: int, available: int, recharge: int) -> None:
    assert recharge_for(amount, available) == recharge


@given(st.integers(1, 10**12), st.integers(0, 10**12))
def test_a_recharge_covers_the_shortfall_by_less_than_one_step(amount: int, available: int) -> None:
    recharge = recharge_for(amount, available)
    assert recharge % RECHARGE_STEP == 0
    assert available + recharge >= amount
    assert recharge == 0 or available + recharge - amount < RECHARGE_STEP


def test_the_business_day_is_the_day_where_the_business_is() -> None:
    late_evening_utc = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 01:30 on 2 December in Seoul
    assert business_day(late_evening_utc, SEOUL) == date(2026, 12, 2)
    assert business_day(late_evening_utc, UTC) == date(2026, 12, 1)


def test_the_daily_limit_admits_up_to_it_and_no_more() -> None:
    ensure_within_daily_limit(1_500_000, 500_000, 2_000_000)
    with pytest.raises(DailyLimitExceeded):
        ensure_within_daily_limit(1_500_000, 500_001, 2_000_000)


def test_a_member_cannot_send_to_itself() -> None:
    with pytest.raises(SendingToOneself):
        Remittance.to_member("r", "alice", "alice", 1_000, date(2026, 12, 2), datetime(2026, 12, 2, tzinfo=UTC))


def test_a_remittance_records_how_it_ended_once() -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    remittance = Remittance.to_member("r-1", "alice", "bob", 5_000, now.date(), now)
    assert remittance.events == []
    remittance.end("insufficient-balance", 0, now)
    [ended] = remittance.events
    assert isinstance(ended, RemittanceEnded)
    assert (ended.remittance.status, ended.remittance.reason) == (RemittanceStatus.FAILED, "insufficient-balance")
    with pytest.raises(ValueError, match="already ended"):
        remittance.end(None, 0, now)
    assert len(remittance.events) == 1
