"""The one retry policy: doubling pauses up to a ceiling, and calls retried only for errors worth it."""

from datetime import timedelta

import pytest

from pay.platform.retry import RetryPolicy

POLICY = RetryPolicy(first_delay=timedelta(seconds=1), max_delay=timedelta(seconds=30), attempts=3)


def test_the_pause_doubles_from_the_first_delay_up_to_the_longest() -> None:
    assert [POLICY.delay(attempt).total_seconds() for attempt in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_saga_that_waited_for_years_still_gets_the_longest_pause() -> None:
    assert POLICY.delay(10**6) == timedelta(seconds=30)


@pytest.mark.parametrize(
    "numbers",
    [
        {"first_delay": timedelta(0), "max_delay": timedelta(seconds=1)},
        {"first_delay": timedelta(seconds=2), "max_delay": timedelta(seconds=1)},
        {"first_delay": timedelta(seconds=1), "max_delay": timedelta(seconds=1), "attempts": 0},
    ],
)
def test_a_policy_that_could_not_work_is_refused(numbers: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**numbers)  # type: ignore[arg-type]


class Flaky(Exception):
    pass


async def test_a_call_is_tried_again_only_for_the_errors_it_names_and_at_most_attempts_times() -> None:
    quick = RetryPolicy(first_delay=timedelta(milliseconds=1), max_delay=timedelta(milliseconds=2), attempts=3)
    calls: list[str] = []

    async def always_flaky() -> None:
        calls.append("flaky")
        raise Flaky()

    async def broken() -> None:
        calls.append("broken")
        raise KeyError("not worth a retry")

    with pytest.raises(Flaky):
        await quick.retrying(on=lambda error: isinstance(error, Flaky))(always_flaky)
    with pytest.raises(KeyError):
        await quick.retrying(on=lambda error: isinstance(error, Flaky))(broken)

    assert calls == ["flaky"] * 3 + ["broken"]
