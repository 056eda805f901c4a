"""The Kafka broker through FastStream's in-memory test broker (no Kafka runs here): each consumer hears what is
published, a failing handler is called again in place, and an unreadable message is set aside to its group's
dead-letter topic. Replays and following the logs need a live Kafka and are not covered (ADR 37)."""

import uuid
from typing import Any

from faststream.kafka import TestKafkaBroker

from pay.contracts.messages import Message
from pay.platform.broker import Broker
from pay.platform.broker.kafka import KafkaTransport, bootstrap_servers


class Probed(Message):
    subject = "pay.events.test.probed.v1"

    probe_id: str


def kafka_broker(service: str) -> tuple[Broker, KafkaTransport]:
    broker = Broker("kafka://127.0.0.1:9092", service)
    assert isinstance(broker.transport, KafkaTransport)
    return broker, broker.transport


def test_a_kafka_url_names_its_bootstrap_servers() -> None:
    assert bootstrap_servers("kafka://k1:9092,k2:9092") == ["k1:9092", "k2:9092"]


async def test_each_consumer_group_hears_what_is_published() -> None:
    broker, transport = kafka_broker(f"test-{uuid.uuid4().hex[:6]}")
    heard: dict[str, list[str]] = {"ledger": [], "feed": []}
    for consumer in heard:

        async def hear(message: Probed, consumer: str = consumer) -> None:
            heard[consumer].append(message.probe_id)

        broker.subscribe(Probed, hear, consumer=consumer)
    async with TestKafkaBroker(transport.faststream):
        await broker.publish_message(Probed(probe_id="p-1"))

    assert heard == {"ledger": ["p-1"], "feed": ["p-1"]}


async def test_a_failing_handler_is_called_again_until_it_succeeds() -> None:
    broker, transport = kafka_broker(f"test-{uuid.uuid4().hex[:6]}")
    attempts: list[str] = []

    async def flaky(message: Probed) -> None:
        attempts.append(message.probe_id)
        if len(attempts) < 3:
            raise RuntimeError("database briefly unavailable")

    broker.subscribe(Probed, flaky)
    async with TestKafkaBroker(transport.faststream):
        await broker.publish_message(Probed(probe_id="p-1"))

    assert attempts == ["p-1", "p-1", "p-1"]


async def test_an_unreadable_message_is_set_aside_to_the_groups_dead_letter_topic() -> None:
    service = f"test-{uuid.uuid4().hex[:6]}"
    broker, transport = kafka_broker(service)
    handled: list[Probed] = []
    set_aside: list[Any] = []

    async def handle(message: Probed) -> None:
        handled.append(message)

    broker.subscribe(Probed, handle)
    transport.faststream.subscriber(f"{service}-Probed.dead")(set_aside.append)
    async with TestKafkaBroker(transport.faststream):
        await broker.publish(Probed.subject, {"probe": "no id"}, str(uuid.uuid4()))

    assert handled == []
    assert set_aside == [{"probe": "no id"}]
