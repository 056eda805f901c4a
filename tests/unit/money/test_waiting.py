"""Watching a started request never turns into an error that would make the caller start it again."""

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from pay.money.application import use_cases
from pay.money.application.transfers import transfer_together
from pay.money.domain.requests import ChangeStatus, ChangeType, MoneyChangingRequest
from pay.money.domain.sagas import BankAccount, SagaTiming
from pay.platform.batching import Batcher
from pay.platform.retry import RetryPolicy
from pay.platform.watch import EndWatch

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SECOND = RetryPolicy(timedelta(seconds=1), timedelta(seconds=1))


class UnreachableDatabase:
    async def __aenter__(self) -> Any:
        raise ConnectionError("pool exhausted")

    async def __aexit__(self, *_: object) -> None:
        return None


async def test_a_failing_watch_answers_the_request_as_it_was_started() -> None:
    deps = use_cases.Dependencies(
        uow=UnreachableDatabase,  # type: ignore[arg-type]
        banking=None,  # type: ignore[arg-type]
        clock=lambda: NOW,
        corporate_account=BankAccount("PAYBANK", "100"),
        balance_limit=10**13,
        transfers=Batcher(partial(transfer_together, UnreachableDatabase, lambda: NOW, 10**13)),  # type: ignore[arg-type]
        timing=SagaTiming(SECOND, timedelta(seconds=1), timedelta(seconds=1), SECOND, timedelta(seconds=1)),
        watch=EndWatch(),
    )
    started = MoneyChangingRequest.new("r-1", ChangeType.INCREASE, "m-1", 1_000, NOW)
    answered = await use_cases.wait_for_request(deps, started, seconds=1)
    assert answered is started and answered.status is ChangeStatus.REQUESTED
