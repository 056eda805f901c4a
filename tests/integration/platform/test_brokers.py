"""What every service counts on from the broker, on NATS JetStream and on the machine's RabbitMQ alike: each
consumer of each service hears every message, a service's instances share one consumer's work, a failing
handler gets its message again, an unreadable one is set aside, a replay reads history up to its start, and
log lines reach whoever follows them."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from prometheus_client import REGISTRY

from pay.contracts.messages import Message
from pay.platform.broker import Broker, following_logs

from support import eventually


class Probed(Message):
    subject = "pay.events.test.probed.v1"

    probe_id: str
    run: str


class Replayed(Message):
    subject = "pay.events.test.replayed.v1"

    number: int
    run: str


class Other(Message):
    subject = "pay.events.test.other.v1"

    run: str


@pytest.fixture(params=["nats", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
async def brokers(broker_url: str) -> AsyncIterator[Callable[..., Broker]]:
    started: list[Broker] = []

    def make(service: str, handlers_at_once: int = 1) -> Broker:
        broker = Broker(broker_url, service, handlers_at_once)
        started.append(broker)
        return broker

    yield make
    for broker in started:
        await broker.stop()


def service() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


async def test_every_service_hears_each_message_and_a_services_instances_share_it(
    brokers: Callable[..., Broker],
) -> None:
    run, shared, alone = uuid.uuid4().hex, service(), service()
    heard: dict[str, list[str]] = {"first": [], "second": [], "alone": []}

    def hearing(name: str) -> Callable[[Probed], Awaitable[None]]:
        async def hear(message: Probed) -> None:
            if message.run == run:
                heard[name].append(message.probe_id)

        return hear

    first, second, other = brokers(shared), brokers(shared), brokers(alone)
    first.subscribe(Probed, hearing("first"))
    second.subscribe(Probed, hearing("second"))
    other.subscribe(Probed, hearing("alone"))
    for broker in (first, second, other):
        await broker.start()
    probes = [str(number) for number in range(20)]
    for probe in probes:
        await first.publish_message(Probed(probe_id=probe, run=run))

    await eventually(lambda: len(heard["first"]) + len(heard["second"]) == 20 and len(heard["alone"]) == 20, seconds=10)
    assert sorted(heard["first"] + heard["second"], key=int) == probes
    assert sorted(heard["alone"], key=int) == probes


async def test_a_failing_handler_gets_the_message_again_and_an_unreadable_one_is_set_aside(
    brokers: Callable[..., Broker],
) -> None:
    run, name = uuid.uuid4().hex, service()
    attempts: list[str] = []

    async def flaky(message: Probed) -> None:
        if message.run == run:
            attempts.append(message.probe_id)
            if len(attempts) < 3:
                raise RuntimeError("database briefly unavailable")

    broker = brokers(name)
    broker.subscribe(Probed, flaky)
    await broker.start()
    await broker.publish(Probed.subject, {"run": run}, str(uuid.uuid4()))  # no probeId: it cannot be read
    await broker.publish_message(Probed(probe_id="p", run=run))

    await eventually(lambda: len(attempts) == 3, seconds=10)
    labels = {"service": name, "subject": Probed.subject}
    await eventually(lambda: REGISTRY.get_sample_value("pay_messages_set_aside_total", labels) == 1, seconds=10)
    await asyncio.sleep(0.5)
    assert attempts == ["p", "p", "p"]


async def test_a_replay_reads_one_subject_from_the_start_up_to_when_it_began(brokers: Callable[..., Broker]) -> None:
    run = uuid.uuid4().hex
    broker = brokers(service())
    await broker.start()
    for number in range(5):
        await broker.publish_message(Replayed(number=number, run=run))
        await broker.publish_message(Other(run=run))

    replayed = [message.number async for message in broker.replay(Replayed) if message.run == run]

    assert replayed == [0, 1, 2, 3, 4]


async def test_log_lines_reach_a_follower(broker_url: str, brokers: Callable[..., Broker]) -> None:
    broker = brokers(service())
    await broker.start()
    line = f'{{"event": "hello", "run": "{uuid.uuid4().hex}"}}'.encode()
    async with asyncio.timeout(10), following_logs(broker_url) as lines:
        await broker.publish_log(line)
        async for shipped in lines:
            if shipped == line:
                break


async def test_a_consumer_handles_as_many_messages_at_once_as_it_is_told(brokers: Callable[..., Broker]) -> None:
    run = uuid.uuid4().hex
    together = asyncio.Barrier(3)
    passed: list[str] = []

    async def meet(message: Probed) -> None:
        if message.run == run:
            async with asyncio.timeout(10):  # only three handled at the same time ever get past
                await together.wait()
            passed.append(message.probe_id)

    broker = brokers(service(), handlers_at_once=3)
    broker.subscribe(Probed, meet)
    await broker.start()
    for number in range(3):
        await broker.publish_message(Probed(probe_id=str(number), run=run))

    await eventually(lambda: len(passed) == 3, seconds=10)
