"""The bank balance read over HTTP, and both balance caches against the real NATS and the Redis on this host."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis.asyncio as redis

from integration.banking.harness import Services, assert_problem, banking_app, listening
from pay.banking.adapters.cache import NatsBalanceCache, RedisBalanceCache
from pay.banking.application.ports import BalanceCache, CacheUnavailable
from pay.banking.domain.balance import SeenBalance
from pay.contracts.clients import BankClient
from pay.platform.broker import Broker
from pay.platform.infra import EmbeddedPostgres

from support import provision

REDIS_URL = os.environ.get("PAY_TEST_REDIS_URL", "redis://localhost:6379/0")
# Long enough for a transfer between two reads on a busy machine, short enough to wait out in a test.
MAX_AGE_SECONDS = 3.0
WAIT_SECONDS = 0.6


@pytest.fixture(scope="module")
async def services(
    pg: EmbeddedPostgres, nats_url: str, data_dir: Path, bank_url: str, bank: BankClient, membership_url: str
) -> AsyncIterator[Services]:
    """Banking with a short maximum age and wait, so that a balance goes stale within a test."""
    database_url = await provision(pg, "pay.banking", f"banking_balance_{uuid.uuid4().hex[:8]}")
    app = banking_app(
        database_url,
        nats_url,
        data_dir,
        bank_url,
        membership_url,
        bank_balance_max_age_seconds=MAX_AGE_SECONDS,
        bank_balance_wait_seconds=WAIT_SECONDS,
    )
    async with (
        listening(app) as banking_url,
        httpx.AsyncClient(base_url=banking_url, timeout=10) as banking,
        httpx.AsyncClient(base_url=membership_url, timeout=10) as membership,
    ):
        yield Services(banking, bank, membership, data_dir, database_url)


@pytest.fixture
async def bank_up(services: Services) -> AsyncIterator[None]:
    yield
    await services.faults()


async def read(services: Services, membership_id: str, headers: dict[str, str], **params: str) -> httpx.Response:
    return await services.banking.get(f"/banking/account/{membership_id}/balance", params=params, headers=headers)


async def test_the_owner_and_an_admin_read_the_balance_and_a_stale_one_is_refreshed_in_the_background(
    services: Services, bank_up: None
) -> None:
    member, account = await services.member(), await services.account(70_000)
    assert (await services.link(member, account)).status_code == 201

    stranger, landlord = await services.member(), await services.account()

    first = await read(services, member.membership_id, member.headers)
    paid = await services.firmbanking(account, landlord, 20_000)
    cached = await read(services, member.membership_id, member.headers)

    assert first.status_code == 200, first.text
    assert set(first.json()) == {"balance", "asOf", "fresh"}
    assert (first.json()["balance"], first.json()["fresh"]) == (70_000, True)
    assert paid.json()["status"] == "SUCCEEDED", paid.text
    assert cached.json() == first.json(), "answered from the cache while it is fresh"
    assert_problem(await read(services, member.membership_id, stranger.headers), 403, "forbidden")
    assert (await read(services, member.membership_id, services.admin)).json()["balance"] == 70_000
    await asyncio.sleep(MAX_AGE_SECONDS + 0.1)
    stale = await read(services, member.membership_id, member.headers)
    assert (stale.json()["balance"], stale.json()["fresh"]) == (70_000, False)
    for _ in range(50):
        refreshed = (await read(services, member.membership_id, member.headers)).json()
        if refreshed["balance"] == 50_000:
            break
        await asyncio.sleep(0.05)
    assert (refreshed["balance"], refreshed["fresh"]) == (50_000, True)
    assert datetime.fromisoformat(refreshed["asOf"]) > datetime.fromisoformat(first.json()["asOf"])


async def test_a_bank_that_is_down_leaves_the_cached_balance_and_says_it_is_stale_within_the_wait(
    services: Services, bank_up: None
) -> None:
    member, account = await services.member(), await services.account(30_000)
    assert (await services.link(member, account)).status_code == 201
    seen = (await read(services, member.membership_id, member.headers, refresh="true")).json()
    assert (seen["balance"], seen["fresh"]) == (30_000, True)
    await services.faults(down=True)

    loop = asyncio.get_running_loop()
    started = loop.time()
    during = await read(services, member.membership_id, member.headers, refresh="true")

    assert loop.time() - started < WAIT_SECONDS + 0.5
    assert during.status_code == 200
    assert during.json() == seen | {"fresh": False}


async def test_with_nothing_cached_a_bank_that_is_down_is_503_and_no_link_is_404(
    services: Services, bank_up: None
) -> None:
    member, account = await services.member(), await services.account(30_000)
    assert (await services.link(member, account)).status_code == 201
    await services.faults(down=True)

    unavailable = await read(services, member.membership_id, member.headers)

    assert_problem(unavailable, 503, "bank-unavailable")
    assert unavailable.headers["Retry-After"]
    unlinked = await services.member()
    assert_problem(await read(services, unlinked.membership_id, unlinked.headers), 404, "linked-account-not-found")


# --- the two caches ----------------------------------------------------------------------------------


@pytest.fixture
async def nats_cache(nats_url: str) -> AsyncIterator[NatsBalanceCache]:
    broker = Broker(nats_url, "banking-cache-test")
    await broker.start()
    try:
        yield NatsBalanceCache(broker)
    finally:
        await broker.stop()


@pytest.fixture
async def redis_cache() -> AsyncIterator[RedisBalanceCache]:
    probe = redis.Redis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL} (PAY_TEST_REDIS_URL)")
    finally:
        await probe.aclose()
    cache = RedisBalanceCache(REDIS_URL)
    yield cache
    await cache.aclose()


async def keeps_the_latest_balance_of_each_account(cache: BalanceCache) -> None:
    account, other = str(uuid.uuid4()), str(uuid.uuid4())
    earlier = SeenBalance(1_000, datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    later = SeenBalance(10**12, earlier.as_of + timedelta(seconds=30, microseconds=5))

    assert await cache.get(account) is None
    await cache.put(account, earlier)
    await cache.put(other, earlier)
    await cache.put(account, later)

    assert await cache.get(account) == later
    assert await cache.get(other) == earlier


async def test_the_jetstream_key_value_cache_keeps_the_latest_balance_of_each_account(
    nats_cache: NatsBalanceCache,
) -> None:
    await keeps_the_latest_balance_of_each_account(nats_cache)


async def test_the_redis_cache_keeps_the_latest_balance_of_each_account(redis_cache: RedisBalanceCache) -> None:
    await keeps_the_latest_balance_of_each_account(redis_cache)


async def test_a_redis_that_does_not_answer_is_an_unavailable_cache() -> None:
    cache = RedisBalanceCache("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(CacheUnavailable):
            await cache.get("ra-1")
    finally:
        await cache.aclose()
