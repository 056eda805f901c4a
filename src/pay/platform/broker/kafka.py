"""Kafka (`kafka://host:port,host:port`). Untested against a live Kafka, which cannot run where Pay is built:
FastStream's in-memory test broker covers subscribing, publishing, the retries and setting aside; replays and
following the logs read a real Kafka only (ADR 37).

Every subject is a topic: the brokers create a topic on first use (`auto.create.topics.enable`), or an operator
creates them first. Each consumer of each service is a consumer group, `<service>-<consumer>`, read from the
earliest offset the first time; an offset is committed after its handler returned. A failing handler is called
again in place after the delay, since Kafka keeps each partition in order and the partition waits anyway; after
the last delivery the message is set aside to the topic `<group>.dead` before its offset is committed. A group
handles one message at a time per process: more partitions and replicas handle more. Kafka drops no
re-published copy: the consumers' inboxes apply its effect once.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from pay.contracts.messages import LOG_SUBJECT
from pay.platform import tracing
from pay.platform.broker.handling import (
    GRACEFUL_SECONDS,
    REPLAY_BATCH,
    BrokerUnreachable,
    FastStreamTransport,
    QuietLogger,
    Receive,
    next_delivery,
    redacted,
    text_headers,
)

_REPLAY_WAIT_MS = 1000


def bootstrap_servers(url: str) -> list[str]:
    return url.removeprefix("kafka://").rstrip("/").split(",")


class KafkaTransport(FastStreamTransport[KafkaBroker]):
    def __init__(self, url: str, service: str, handlers_at_once: int) -> None:
        self._servers = bootstrap_servers(url)
        super().__init__(
            service,
            KafkaBroker(
                self._servers,
                logger=QuietLogger(),
                graceful_timeout=GRACEFUL_SECONDS,
                # As on NATS: handlers validate the decoded body as their message type themselves.
                apply_types=False,
            ),
        )

    def subscribe(self, subject: str, durable: str, receive: Receive) -> None:
        async def handle(body: Any) -> None:
            message: KafkaMessage = self.faststream.context.get_local("message")
            with tracing.processing(subject, text_headers(message.headers)):
                deliveries = 1
                while True:
                    try:
                        await receive(body)
                        return
                    except Exception as error:
                        delay = next_delivery(self._service, subject, deliveries, error)
                        if delay is None:
                            await self._set_aside(durable, message)
                            return
                    await asyncio.sleep(delay)
                    deliveries += 1

        subscriber = self.faststream.subscriber(
            subject, group_id=durable, auto_offset_reset="earliest", ack_policy=AckPolicy.NACK_ON_ERROR
        )
        subscriber(handle)
        self._subscribers.append(subscriber)

    async def _set_aside(self, group: str, message: KafkaMessage) -> None:
        await self.faststream.publish(message.body, topic=f"{group}.dead", headers=text_headers(message.headers))

    async def start(self) -> None:
        await self.faststream.start()

    async def publish(self, subject: str, payload: dict[str, Any], message_id: str, headers: dict[str, str]) -> None:
        await self.faststream.publish(payload, topic=subject, headers=headers, correlation_id=message_id)

    async def replay(self, subject: str) -> AsyncIterator[bytes]:
        """Through a consumer of no group, from each partition's first offset to its end when the replay began;
        in order within a partition."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self._servers, group_id=None, enable_auto_commit=False)
        await consumer.start()
        try:
            await consumer.topics()  # the cluster's metadata, so the topic's partitions are known
            partitions = [TopicPartition(subject, number) for number in consumer.partitions_for_topic(subject) or ()]
            if not partitions:
                return
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            await consumer.seek_to_beginning(*partitions)
            unread = [partition for partition in partitions if await consumer.position(partition) < ends[partition]]
            while unread:
                batches = await consumer.getmany(*unread, timeout_ms=_REPLAY_WAIT_MS, max_records=REPLAY_BATCH)
                for partition, records in batches.items():
                    for record in records:
                        if record.offset < ends[partition]:
                            yield record.value
                unread = [partition for partition in unread if await consumer.position(partition) < ends[partition]]
        finally:
            await consumer.stop()

    async def publish_log(self, line: bytes) -> None:
        await self.faststream.publish(line, topic=LOG_SUBJECT)


@asynccontextmanager
async def following_logs(url: str) -> AsyncIterator[AsyncIterator[bytes]]:
    consumer = AIOKafkaConsumer(
        LOG_SUBJECT, bootstrap_servers=bootstrap_servers(url), group_id=None, auto_offset_reset="latest"
    )
    try:
        await consumer.start()
    except (OSError, KafkaError) as error:
        await consumer.stop()
        raise BrokerUnreachable(f"no broker answers at {redacted(url)}") from error
    try:
        yield (record.value async for record in consumer if record.value is not None)
    finally:
        await consumer.stop()
