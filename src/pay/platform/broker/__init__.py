"""The message broker: NATS JetStream (what `pay up` runs), RabbitMQ or Kafka, by `PAY_BROKER_URL`'s scheme.

Every service subscribes and publishes through `Broker`, whichever broker is underneath: a message is handled at
least once and its effect applied once (each consumer's inbox), carries the trace that wrote it, and comes back
with a growing delay while its handler fails. Each broker's own way of doing so lives in its module.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, TypeVar

from nats.js.kv import KeyValue

from pay.contracts.messages import Message
from pay.platform import tracing
from pay.platform.broker import jetstream, kafka, rabbitmq
from pay.platform.broker.handling import HANDLING_LAG, SET_ASIDE, BrokerUnreachable, Transport, redacted
from pay.platform.settings import broker_kind

__all__ = ["Broker", "BrokerUnreachable", "following_logs", "redacted"]

MessageT = TypeVar("MessageT", bound=Message)
Handler = Callable[[MessageT], Awaitable[None]]


def _transport(url: str, service: str, handlers_at_once: int) -> Transport:
    match broker_kind(url):
        case "nats":
            return jetstream.JetStreamTransport(url, service, handlers_at_once)
        case "rabbitmq":
            return rabbitmq.RabbitMqTransport(url, service, handlers_at_once)
        case "kafka":
            return kafka.KafkaTransport(url, service, handlers_at_once)


class Broker:
    def __init__(self, url: str, service: str, handlers_at_once: int = 1) -> None:
        self._service = service
        self.transport = _transport(url, service, handlers_at_once)
        self._subscribed: list[type[Message]] = []

    @property
    def subscribed(self) -> tuple[type[Message], ...]:
        """The message types this service hears, in the order it subscribed (its part of the event contract)."""
        return tuple(self._subscribed)

    def subscribe(self, message_type: type[MessageT], handler: Handler[MessageT], *, consumer: str = "") -> None:
        """Before `start()`: run `handler` for every `message_type` published, at least once. Instances of one
        service share the work of one consumer; each consumer of each service sees every message."""
        durable = f"{self._service}-{consumer or message_type.__name__}".replace(".", "-")
        lag = HANDLING_LAG.labels(self._service, message_type.subject)
        # At 0 from the start, so that the first message set aside is an increase Prometheus sees.
        SET_ASIDE.labels(self._service, message_type.subject)

        async def receive(body: Any) -> None:
            message = message_type.from_payload(body)
            await handler(message)
            lag.observe(max((datetime.now(UTC) - message.occurred_at).total_seconds(), 0.0))

        self.transport.subscribe(message_type.subject, durable, receive)
        self._subscribed.append(message_type)

    async def start(self) -> None:
        await self.transport.start()

    async def stop_consuming(self) -> None:
        await self.transport.stop_consuming()

    async def stop(self) -> None:
        await self.transport.stop()

    async def is_ready(self) -> bool:
        return await self.transport.is_ready()

    async def publish(
        self,
        subject: str,
        payload: dict[str, Any],
        message_id: str,
        trace_context: Mapping[str, str] | None = None,
    ) -> None:
        """Returns once the broker stored the message. It goes on the trace of `trace_context` (the headers
        `tracing.current_trace_context` gave), else the current one."""
        with tracing.publishing(subject, message_id, trace_context) as trace_headers:
            await self.transport.publish(subject, payload, message_id, trace_headers)

    async def publish_message(self, message: Message) -> None:
        await self.publish(message.subject, message.to_payload(), message.message_id)

    async def replay(self, message_type: type[MessageT]) -> AsyncIterator[MessageT]:
        """After `start()`: every `message_type` the broker keeps, oldest first, up to the last one stored when
        the replay began. The service's consumers go on as if it did not happen."""
        async for body in self.transport.replay(message_type.subject):
            yield message_type.from_payload(body)

    async def key_value(self, bucket: str) -> KeyValue:
        """A JetStream key-value bucket (after `start()`). Settings refuse RabbitMQ and Kafka without a cache
        elsewhere, so only a service on NATS asks."""
        if not isinstance(self.transport, jetstream.JetStreamTransport):
            raise TypeError("only NATS JetStream keeps key-value buckets")
        return await self.transport.key_value(bucket)

    async def publish_log(self, line: bytes) -> None:
        await self.transport.publish_log(line)


def following_logs(url: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
    """The log lines services ship from the moment this is entered, until the broker goes away. A log line is
    not kept: only a listener already there sees it. `BrokerUnreachable` when no broker answers."""
    match broker_kind(url):
        case "nats":
            return jetstream.following_logs(url)
        case "rabbitmq":
            return rabbitmq.following_logs(url)
        case "kafka":
            return kafka.following_logs(url)
