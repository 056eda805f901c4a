"""`pay logs` against a real NATS: it sees what services ship, through its filters, from the moment it follows."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import orjson
import pytest

from pay.logs import Level, LogFilter, follow
from pay.platform.broker import Broker, BrokerUnreachable


@pytest.fixture
async def broker(nats_url: str) -> AsyncIterator[Broker]:
    broker = Broker(nats_url, f"test-{uuid.uuid4().hex[:8]}")
    await broker.start()
    yield broker
    await broker.stop()


async def _follow(nats_url: str, log_filter: LogFilter, count: int, following: asyncio.Event) -> list[bytes]:
    lines = []
    async for line, _ in follow(nats_url, log_filter, following.set):
        lines.append(line)
        if len(lines) == count:
            break
    return lines


async def test_followers_see_the_shipped_events_their_filters_admit(nats_url: str, broker: Broker) -> None:
    run = uuid.uuid4().hex
    events = [
        {"service": "money", "level": "debug", "event": "chatter", "run": run},
        {"service": "banking", "level": "error", "event": "elsewhere", "run": run},
        {"service": "money", "level": "info", "event": "request", "request_id": f"{run}-1", "status": 404},
        {"service": "money", "level": "error", "event": "unhandled_error", "request_id": f"{run}-2"},
    ]
    money_info, by_request = asyncio.Event(), asyncio.Event()
    async with asyncio.timeout(20):
        money = asyncio.create_task(
            _follow(nats_url, LogFilter(services=frozenset({"money"}), level=Level.INFO), 2, money_info)
        )
        request = asyncio.create_task(_follow(nats_url, LogFilter(request_id=f"{run}-2"), 1, by_request))
        await money_info.wait()
        await by_request.wait()
        await broker.publish_log(b"not a log event")
        for event in events:
            await broker.publish_log(orjson.dumps(event))

        assert [orjson.loads(line) for line in await money] == events[2:]
        assert [orjson.loads(line) for line in await request] == events[3:]


async def test_a_follower_with_no_broker_to_reach_says_so() -> None:
    with pytest.raises(BrokerUnreachable, match=r"no broker answers at nats://127\.0\.0\.1:1"):
        async with asyncio.timeout(20):
            async for _ in follow("nats://127.0.0.1:1", LogFilter(), lambda: None):
                pass
