"""The bank balance read: the freshness rule, and the reading against in-memory fakes."""

import asyncio
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pay.banking.application.balance import BalanceReading, SingleFlight, read_bank_balance
from pay.banking.application.ports import BankUnavailable, CacheUnavailable
from pay.banking.domain.balance import SeenBalance
from pay.banking.domain.model import LinkedAccountNotFound, RegisteredBankAccount
from unit.banking import test_use_cases
from unit.banking.test_use_cases import World

from banking_support import KB, NOW

world = test_use_cases.world

MAX_AGE = timedelta(seconds=60)
WAIT = timedelta(seconds=0.2)


@given(st.timedeltas(min_value=timedelta(seconds=-3600), max_value=timedelta(days=2)))
def test_a_balance_is_fresh_up_to_its_maximum_age(age: timedelta) -> None:
    assert SeenBalance(1_000, NOW).is_fresh(NOW + age, MAX_AGE) is (age <= MAX_AGE)


class MemoryCache:
    def __init__(self) -> None:
        self.rows: dict[str, SeenBalance] = {}

    async def get(self, registered_bank_account_id: str) -> SeenBalance | None:
        return self.rows.get(registered_bank_account_id)

    async def put(self, registered_bank_account_id: str, seen: SeenBalance) -> None:
        self.rows[registered_bank_account_id] = seen


class CountingBank:
    """The fake bank's balance, counted, and held back while `gate` is closed."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.calls = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, fintech_use_num: str) -> int:
        self.calls += 1
        await self.gate.wait()
        return await type(self.world.bank).balance(self.world.bank, fintech_use_num)


@pytest.fixture
async def reading(world: World) -> BalanceReading:
    world.bank.fintech_uses[KB] = "1" * 24
    world.bank.balances[KB] = 70_000
    world.store.links["m-1"] = RegisteredBankAccount("ra-1", "m-1", KB, True, NOW, "1" * 24)
    return BalanceReading(world.deps, MemoryCache(), SingleFlight(), MAX_AGE, WAIT)


@pytest.fixture
def bank(world: World, monkeypatch: pytest.MonkeyPatch) -> CountingBank:
    counting = CountingBank(world)
    monkeypatch.setattr(world.bank, "balance", counting)
    return counting


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_the_first_read_asks_the_bank_and_later_ones_are_answered_from_the_cache(
    reading: BalanceReading, world: World, bank: CountingBank
) -> None:
    first = await read_bank_balance(reading, "m-1")
    world.bank.balances[KB] = 1
    world.clock.now = NOW + MAX_AGE

    again = await read_bank_balance(reading, "m-1")

    assert (first.seen, first.fresh) == (SeenBalance(70_000, NOW), True)
    assert (again.seen, again.fresh) == (SeenBalance(70_000, NOW), True)
    assert bank.calls == 1


async def test_a_stale_balance_is_answered_at_once_and_refreshed_once_in_the_background(
    reading: BalanceReading, world: World, bank: CountingBank
) -> None:
    await read_bank_balance(reading, "m-1")
    world.bank.balances[KB] = 80_000
    world.clock.now = NOW + MAX_AGE + timedelta(seconds=1)
    bank.gate.clear()

    answers = [await read_bank_balance(reading, "m-1") for _ in range(5)]

    assert all((a.seen.balance, a.fresh) == (70_000, False) for a in answers)
    bank.gate.set()
    await settle()
    assert bank.calls == 2, "one refresh at a time per account"
    latest = await read_bank_balance(reading, "m-1")
    assert (latest.seen, latest.fresh) == (SeenBalance(80_000, world.clock.now), True)


async def test_a_refresh_asked_for_waits_a_bounded_time_and_a_silent_bank_leaves_the_cached_balance_stale(
    reading: BalanceReading, world: World, bank: CountingBank
) -> None:
    await read_bank_balance(reading, "m-1")
    world.bank.balances[KB] = 90_000
    refreshed = await read_bank_balance(reading, "m-1", refresh=True)
    assert (refreshed.seen.balance, refreshed.fresh) == (90_000, True)

    bank.gate.clear()
    loop = asyncio.get_running_loop()
    started = loop.time()
    slow = await read_bank_balance(reading, "m-1", refresh=True)
    assert loop.time() - started < WAIT.total_seconds() + 0.1
    assert (slow.seen.balance, slow.fresh) == (90_000, False)

    bank.gate.set()
    world.bank.down = True
    down = await read_bank_balance(reading, "m-1", refresh=True)
    assert (down.seen.balance, down.fresh) == (90_000, False)


async def test_with_nothing_cached_a_silent_bank_is_unavailable_and_no_link_is_not_found(
    reading: BalanceReading, world: World, bank: CountingBank
) -> None:
    world.bank.down = True
    with pytest.raises(BankUnavailable):
        await read_bank_balance(reading, "m-1")
    with pytest.raises(LinkedAccountNotFound):
        await read_bank_balance(reading, "m-2")


async def test_an_old_link_gets_its_fintech_use_number_on_its_first_balance_read(
    reading: BalanceReading, world: World
) -> None:
    world.store.links["m-1"] = RegisteredBankAccount("ra-1", "m-1", KB, True, NOW)
    world.bank.fintech_uses.clear()

    answer = await read_bank_balance(reading, "m-1")

    assert answer.seen.balance == 70_000
    assert world.store.links["m-1"].fintech_use_num == world.bank.fintech_uses[KB]


async def test_closing_stops_the_refreshes_under_way(reading: BalanceReading, bank: CountingBank) -> None:
    bank.gate.clear()
    with pytest.raises(BankUnavailable):
        await read_bank_balance(reading, "m-1")
    await reading.refreshes.aclose()
    assert await reading.cache.get("ra-1") is None


class SilentCache:
    async def get(self, registered_bank_account_id: str) -> SeenBalance | None:
        raise CacheUnavailable()

    async def put(self, registered_bank_account_id: str, seen: SeenBalance) -> None:
        raise CacheUnavailable()


async def test_without_its_cache_a_read_is_answered_by_the_bank(reading: BalanceReading, bank: CountingBank) -> None:
    silent = BalanceReading(reading.deps, SilentCache(), SingleFlight(), MAX_AGE, WAIT)

    answer = await read_bank_balance(silent, "m-1")

    assert (answer.seen.balance, answer.fresh) == (70_000, True)
