"""RabbitMQ (`amqp://`, `amqps://`; the URL's virtual host keeps one Pay apart from another on the same server).

Every event and command goes to the durable topic exchange `pay`, its subject as the routing key. Each consumer
of each service is a quorum queue bound to its subject (`<service>-<consumer>`), shared by the service's
instances. A failing handler's message is acknowledged only once a copy of it is stored in the queue's
`.retry` queue with the delay as its expiry; expired, RabbitMQ dead-letters it back to the consumer's queue
(copies of different delays wait in line: one may come back later than its own delay, never sooner). A message
set aside is dead-lettered to the queue's `.dead` queue, where it stays for an operator. The stream
`pay.journal` keeps every message for replays. RabbitMQ drops no re-published copy: the consumers' inboxes
apply its effect once.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
import aio_pika.abc
import aio_pika.exceptions
from faststream import AckPolicy
from faststream.exceptions import RejectMessage
from faststream.rabbit import Channel, ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.message import RabbitMessage
from faststream.rabbit.schemas.queue import ClassicQueueArgs

from pay.contracts.messages import STREAM_SUBJECTS
from pay.platform import tracing
from pay.platform.broker.handling import (
    GRACEFUL_SECONDS,
    PUBLISH_TIMEOUT_SECONDS,
    REPLAY_BATCH,
    BrokerUnreachable,
    FastStreamTransport,
    QuietLogger,
    Receive,
    next_delivery,
    redacted,
    text_headers,
)

EXCHANGE = RabbitExchange("pay", type=ExchangeType.TOPIC, durable=True)
LOG_EXCHANGE = RabbitExchange("pay.logs", type=ExchangeType.FANOUT, durable=False)
JOURNAL = "pay.journal"
# RabbitMQ counts no deliveries of a message that went through another queue: the copy carries its count.
_DELIVERIES = "x-pay-deliveries"
_REPLAY_MARKER = "x-pay-replay-marker"
_FOLLOWER_CONNECT_SECONDS = 2.0


class RabbitMqTransport(FastStreamTransport[RabbitBroker]):
    def __init__(self, url: str, service: str, handlers_at_once: int) -> None:
        self._url = url
        self._handlers_at_once = handlers_at_once
        super().__init__(
            service,
            RabbitBroker(
                url,
                logger=QuietLogger(),
                graceful_timeout=GRACEFUL_SECONDS,
                # As on NATS: handlers validate the decoded body as their message type themselves.
                apply_types=False,
            ),
        )

    def subscribe(self, subject: str, durable: str, receive: Receive) -> None:
        async def handle(body: Any) -> None:
            message: RabbitMessage = self.faststream.context.get_local("message")
            with tracing.processing(subject, text_headers(message.headers)):
                try:
                    await receive(body)
                except Exception as error:
                    deliveries = int(str(message.headers.get(_DELIVERIES, 1)))
                    delay = next_delivery(self._service, subject, deliveries, error)
                    if delay is None:
                        raise RejectMessage() from error
                    await self._deliver_later(durable, message, deliveries + 1, delay)

        queue = RabbitQueue(
            durable,
            queue_type=QueueType.QUORUM,
            routing_key=subject,
            arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": f"{durable}.dead"},
        )
        subscriber = self.faststream.subscriber(
            queue,
            EXCHANGE,
            # RabbitMQ hands a consumer this many unacknowledged messages, each handled as it arrives.
            channel=Channel(prefetch_count=self._handlers_at_once),
            ack_policy=AckPolicy.NACK_ON_ERROR,
        )
        subscriber(handle)
        self._subscribers.append(subscriber)

    async def _deliver_later(self, queue: str, message: RabbitMessage, deliveries: int, delay: float) -> None:
        await self.faststream.publish(
            message.body,
            routing_key=f"{queue}.retry",
            headers={**message.headers, _DELIVERIES: deliveries},
            content_type=message.content_type,
            message_id=message.message_id,
            expiration=delay,
            persist=True,
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )

    async def start(self) -> None:
        """Declare what the consumers and replays need first; every service does, so start order does not matter."""
        await self.faststream.connect()
        exchange = await self.faststream.declare_exchange(EXCHANGE)
        await self.faststream.declare_exchange(LOG_EXCHANGE)
        journal = await self.faststream.declare_queue(RabbitQueue(JOURNAL, queue_type=QueueType.STREAM))
        for subjects in STREAM_SUBJECTS:
            await journal.bind(exchange, routing_key=subjects.replace(">", "#"))
        for queue in (subscriber.queue.name for subscriber in self._subscribers):
            back: ClassicQueueArgs = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue}
            await self.faststream.declare_queue(RabbitQueue(f"{queue}.retry", durable=True, arguments=back))
            await self.faststream.declare_queue(RabbitQueue(f"{queue}.dead", queue_type=QueueType.QUORUM))
        await self.faststream.start()

    async def publish(self, subject: str, payload: dict[str, Any], message_id: str, headers: dict[str, str]) -> None:
        trace_headers: aio_pika.abc.HeadersType = {**headers}
        await self.faststream.publish(
            payload,
            routing_key=subject,
            exchange=EXCHANGE,
            headers=trace_headers,
            message_id=message_id,
            persist=True,
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )

    async def replay(self, subject: str) -> AsyncIterator[bytes]:
        """From the journal's first offset through a connection of its own, up to a marker it puts at the end: so
        it stops at what was stored when it began, however much more arrives meanwhile."""
        connection = await aio_pika.connect(self._url)
        async with connection:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=REPLAY_BATCH)  # a stream gives nothing without it
            journal = await channel.get_queue(JOURNAL)
            marker = str(uuid.uuid4())
            await channel.default_exchange.publish(aio_pika.Message(b"", headers={_REPLAY_MARKER: marker}), JOURNAL)
            async with journal.iterator(arguments={"x-stream-offset": "first"}) as messages:
                async for message in messages:
                    await message.ack()
                    if message.headers.get(_REPLAY_MARKER) == marker:
                        return
                    if message.routing_key == subject:
                        yield message.body

    async def publish_log(self, line: bytes) -> None:
        await self.faststream.publish(line, exchange=LOG_EXCHANGE, mandatory=False)


@asynccontextmanager
async def following_logs(url: str) -> AsyncIterator[AsyncIterator[bytes]]:
    try:
        connection = await aio_pika.connect(url, timeout=_FOLLOWER_CONNECT_SECONDS)
    except (OSError, TimeoutError, aio_pika.exceptions.AMQPError) as error:
        raise BrokerUnreachable(f"no broker answers at {redacted(url)}") from error
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(LOG_EXCHANGE.name, aio_pika.ExchangeType.FANOUT, durable=False)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange)
        yield _bodies(queue)


async def _bodies(queue: aio_pika.abc.AbstractQueue) -> AsyncIterator[bytes]:
    try:
        async with queue.iterator(no_ack=True) as messages:
            async for message in messages:
                yield message.body
    except (aio_pika.exceptions.AMQPError, ConnectionError):
        return  # the broker went away: the lines end
