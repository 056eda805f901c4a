"""The feed store itself, through the use cases with a clock of the test's: entries past the retention are
forgotten when the recipient's feed grows, and a recipient's numbering goes on after them."""

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from pay.notification.adapters.db import NotificationUnitOfWork
from pay.notification.application import use_cases
from pay.notification.application.use_cases import Delivery, Dependencies
from pay.notification.domain.model import Entry, Notice, Told
from pay.platform.db import create_engine

T0 = datetime(2026, 12, 2, 9, tzinfo=UTC)


class Announced:
    """This process's streams, told of the entries once their transaction committed."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []

    def recorded(self, entries: Sequence[Entry]) -> None:
        self.entries += entries


class Silent:
    def tell(self, text: str) -> None:
        raise AssertionError(f"no alert expected: {text}")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=2)
    yield engine
    await engine.dispose()


def received(recipient: str, amount: int, at: datetime) -> Delivery:
    notice = Notice("transfer.received", f"Received {amount} won", {"amount": amount}, at, recipient)
    return Delivery(str(uuid.uuid4()), Told((notice,)))


async def test_entries_past_the_retention_are_forgotten_and_the_numbering_goes_on(engine: AsyncEngine) -> None:
    clock = Clock()
    announced = Announced()
    deps = Dependencies(
        uow=partial(NotificationUnitOfWork, engine),
        announcer=announced,
        alerts=Silent(),
        clock=clock,
        retention=timedelta(hours=24),
        ticket_lifetime=timedelta(seconds=30),
    )
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    assert await use_cases.record(deps, [received(alice, 1, T0), received(bob, 2, T0), received(alice, 3, T0)]) == [
        True,
        True,
        True,
    ]

    assert [(entry.recipient, entry.seq) for entry in announced.entries] == [(alice, 1), (bob, 1), (alice, 2)]

    clock.now = T0 + timedelta(hours=25)
    await use_cases.record(deps, [received(alice, 4, clock.now)])

    alices = await use_cases.feed_page(deps, alice, None, 10)
    assert [(entry.seq, entry.data["amount"]) for entry in alices] == [(3, 4)]
    assert [entry.seq for entry in await use_cases.feed_page(deps, bob, None, 10)] == [1], "kept until bob's grows"
    assert [entry.seq for entry in await use_cases.entries_after(deps, alice, 0, 10)] == [3]
