"""The kernel's messaging against real PostgreSQL and NATS: outbox relay, inbox, broker, log shipping."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import nats
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from pay.contracts.messages import LOG_SUBJECT, Message
from pay.platform.broker import Broker
from pay.platform.db import SqlUnitOfWork, create_engine, outbox
from pay.platform.logging import BrokerLogShipper
from pay.platform.outbox import OutboxRelay

from support import provision


class Pinged(Message):
    subject = "pay.events.test.pinged.v1"

    ping_id: str


@pytest.fixture(scope="module")
async def engine(pg: Any) -> AsyncIterator[AsyncEngine]:
    # Any service's history creates the kernel's tables; the bank simulator's is the smallest.
    engine = create_engine(await provision(pg, "pay.bank", "kernel_messaging"))
    async with engine.begin() as connection:
        await connection.execute(sa.text("CREATE TABLE IF NOT EXISTS effects (ping_id text)"))
    yield engine
    await engine.dispose()


@pytest.fixture
async def broker(nats_url: str) -> AsyncIterator[Broker]:
    broker = Broker(nats_url, f"test-{uuid.uuid4().hex[:8]}")
    yield broker
    await broker.stop()


async def unpublished(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        statement = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        return int((await connection.execute(statement)).scalar_one())


class PingingUnitOfWork(SqlUnitOfWork):
    """Messages leave a unit of work the one way: drained from what it recorded, when it commits."""

    def _open(self) -> None:
        self.sent: list[Message] = []

    def _new_messages(self) -> Iterator[Message]:
        return iter(self.sent)


async def test_only_committed_messages_leave_and_each_is_applied_once(engine: AsyncEngine, broker: Broker) -> None:
    received: list[str] = []

    async def apply(message: Pinged) -> None:
        async with SqlUnitOfWork(engine) as uow:
            if await uow.inbox.first_delivery("test-consumer", message.message_id):
                await uow.connection.execute(sa.text("INSERT INTO effects VALUES (:id)"), {"id": message.ping_id})
                received.append(message.ping_id)
            await uow.commit()

    broker.subscribe(Pinged, apply)
    await broker.start()
    relay = OutboxRelay(engine, broker.publish, "test")

    committed, rolled_back = Pinged(ping_id=str(uuid.uuid4())), Pinged(ping_id=str(uuid.uuid4()))
    async with PingingUnitOfWork(engine) as uow:
        uow.sent.append(committed)
        await uow.commit()
    async with PingingUnitOfWork(engine) as uow:
        uow.sent.append(rolled_back)
    assert await relay.publish_pending() == 1
    # A relay that crashed after publishing but before marking would publish the same message again.
    await broker.publish_message(committed)
    await broker.publish(committed.subject, committed.to_payload() | {}, str(uuid.uuid4()))

    for _ in range(100):
        if received:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    assert received == [committed.ping_id]
    assert await unpublished(engine) == 0


async def test_a_message_committed_while_the_relay_publishes_leaves_without_waiting_for_the_poll(
    engine: AsyncEngine,
) -> None:
    published: list[str] = []
    second = Pinged(ping_id=str(uuid.uuid4()))
    second_left = asyncio.Event()

    async def publish(subject: str, payload: dict[str, Any], message_id: str, _: Mapping[str, str] | None) -> None:
        published.append(payload["pingId"])
        if payload["pingId"] == second.ping_id:
            second_left.set()
        if len(published) == 1:
            # Another request commits (and wakes the relay) while it is still publishing the first.
            async with PingingUnitOfWork(engine, relay.wake) as uow:
                uow.sent.append(second)
                await uow.commit()

    relay = OutboxRelay(engine, publish, "test", idle_poll_seconds=60)
    async with PingingUnitOfWork(engine) as uow:
        uow.sent.append(Pinged(ping_id=str(uuid.uuid4())))
        await uow.commit()
    running = asyncio.create_task(relay.run())
    try:
        async with asyncio.timeout(5):
            await second_left.wait()
    finally:
        running.cancel()
    assert len(published) == 2


async def test_a_failing_handler_gets_the_message_again(engine: AsyncEngine, broker: Broker) -> None:
    message = Pinged(ping_id=str(uuid.uuid4()))
    attempts: list[str] = []

    async def flaky(received: Pinged) -> None:
        attempts.append(received.ping_id)
        if attempts.count(message.ping_id) in (1, 2):
            raise RuntimeError("database briefly unavailable")

    broker.subscribe(Pinged, flaky, consumer=f"flaky-{uuid.uuid4().hex[:6]}")
    await broker.start()
    await broker.publish_message(message)
    for _ in range(100):
        if len([a for a in attempts if a == message.ping_id]) >= 3:
            break
        await asyncio.sleep(0.05)
    assert attempts.count(message.ping_id) == 3


async def test_two_copies_handled_at_once_apply_once_and_the_loser_is_told_apart_from_a_failure(
    engine: AsyncEngine, nats_url: str
) -> None:
    """A saga's resend is a copy under another message id: only the effect's own key tells them apart."""
    async with engine.begin() as connection:
        await connection.execute(sa.text("CREATE TABLE IF NOT EXISTS requests (request_id text PRIMARY KEY)"))
    request_id, calls = str(uuid.uuid4()), 0
    both_checked = asyncio.Barrier(2)

    async def apply(message: Pinged) -> None:
        nonlocal calls
        if message.ping_id != request_id:
            return  # another test's ping, still in the stream
        calls += 1
        async with SqlUnitOfWork(engine) as uow:
            seen = "SELECT count(*) FROM requests WHERE request_id = :id"
            if (await uow.connection.execute(sa.text(seen), {"id": message.ping_id})).scalar_one():
                return
            if calls <= 2:
                await both_checked.wait()  # the copies' checks both pass before either inserts
            await uow.connection.execute(sa.text("INSERT INTO requests VALUES (:id)"), {"id": message.ping_id})
            await uow.commit()

    broker = Broker(nats_url, f"test-{uuid.uuid4().hex[:8]}", handlers_at_once=2)
    broker.subscribe(Pinged, apply)
    with capture_logs() as logged:
        await broker.start()
        try:
            for _ in range(2):
                await broker.publish_message(Pinged(ping_id=request_id))
            for _ in range(100):
                if calls >= 3:
                    break
                await asyncio.sleep(0.05)
        finally:
            await broker.stop()
    async with engine.connect() as connection:
        count = "SELECT count(*) FROM requests WHERE request_id = :id"
        assert (await connection.execute(sa.text(count), {"id": request_id})).scalar_one() == 1
    assert calls == 3
    assert [entry["event"] for entry in logged if entry["log_level"] in ("warning", "error")] == ["message_raced"]


async def test_logs_are_shipped_to_the_log_subject(nats_url: str, broker: Broker) -> None:
    await broker.start()
    listener = await nats.connect(nats_url)
    subscription = await listener.subscribe(LOG_SUBJECT)
    await listener.flush()
    shipper = BrokerLogShipper()
    shipper.attach(broker.publish_log)
    task = asyncio.create_task(shipper.run())
    try:
        shipper.processor(None, "info", {"event": "hello", "request_id": "r-1"})
        message = await subscription.next_msg(timeout=5)
        assert json.loads(message.data) == {"event": "hello", "request_id": "r-1"}
    finally:
        task.cancel()
        await listener.close()


async def test_a_message_the_broker_did_not_acknowledge_stays_pending_and_the_others_are_marked(
    engine: AsyncEngine,
) -> None:
    await OutboxRelay(engine, _accept_all, "test").publish_pending()
    pings = [Pinged(ping_id=str(uuid.uuid4())) for _ in range(3)]
    async with PingingUnitOfWork(engine) as uow:
        uow.sent.extend(pings)
        await uow.commit()
    refused = str(pings[1].message_id)
    sent: list[str] = []

    async def publish(subject: str, payload: dict[str, Any], message_id: str, _: Mapping[str, str] | None) -> None:
        if message_id == refused:
            raise TimeoutError("no acknowledgement from the broker")
        sent.append(message_id)

    with pytest.raises(TimeoutError):
        await OutboxRelay(engine, publish, "test").publish_pending()
    assert sorted(sent) == sorted(str(ping.message_id) for ping in pings if str(ping.message_id) != refused)
    assert await unpublished(engine) == 1

    sent.clear()
    assert await OutboxRelay(engine, _accept_all, "test").publish_pending() == 1
    assert await unpublished(engine) == 0


async def _accept_all(subject: str, payload: dict[str, Any], message_id: str, _: Mapping[str, str] | None) -> None:
    return None
