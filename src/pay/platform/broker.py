"""The message broker: NATS JetStream through FastStream.

One stream (`PAY`) holds every event and command. Each service reads it through durable pull
consumers of its own, so every service sees every message it subscribes to, and instances of one
service share the work. A handler's message is acknowledged only after the handler returned, that
is after its database transaction committed; a failing handler's message comes back with a growing
delay, and one that cannot even be parsed is set aside at once. A message carries the trace of the
request or handler that wrote it in its headers, and its handler continues that trace.
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TypeGuard, TypeVar

import nats
import nats.errors
import pydantic
import structlog
from faststream import AckPolicy, BaseMiddleware
from faststream.exceptions import NackMessage, RejectMessage
from faststream.message import StreamMessage
from faststream.nats import ConsumerConfig, JStream, NatsBroker, PullSub
from nats.js import api as jetstream_api
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError
from nats.js.kv import KeyValue
from sqlalchemy.exc import IntegrityError

from pay.contracts.messages import LOG_SUBJECT, STREAM_NAME, STREAM_SUBJECTS, Message
from pay.platform import tracing
from pay.platform.retry import RetryPolicy

MessageT = TypeVar("MessageT", bound=Message)
Handler = Callable[[MessageT], Awaitable[None]]

MAX_DELIVERIES = 25
# A failing handler's message comes back after these delays, and is set aside after its last delivery.
REDELIVERY = RetryPolicy(first_delay=timedelta(seconds=0.2), max_delay=timedelta(seconds=30), attempts=MAX_DELIVERIES)
_UNIQUE_VIOLATION = "23505"
_PUBLISH_TIMEOUT_SECONDS = 5.0
_GRACEFUL_SECONDS = 8.0
_FOLLOWER_CONNECT_SECONDS = 2.0
_REPLAY_BATCH = 500
_REPLAY_WAIT_SECONDS = 1.0

_log = structlog.get_logger()


class _RetryWithBackoff(BaseMiddleware):
    async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: StreamMessage[Any]) -> Any:
        try:
            return await call_next(msg)
        except (NackMessage, RejectMessage):
            raise
        except pydantic.ValidationError as error:
            _log.error("message_rejected", subject=msg.raw_message.subject, error=str(error))
            raise RejectMessage() from error
        except Exception as error:
            deliveries = msg.raw_message.metadata.num_delivered
            if _raced(error):
                # Handlers run several at once, so a redelivery or a saga's resend can be handled beside its
                # first copy: the loser's insert meets the winner's key, and its next delivery finds the work done.
                _log.warning(
                    "message_raced", subject=msg.raw_message.subject, deliveries=deliveries, error=str(error.orig)
                )
            else:
                _log.exception("message_failed", subject=msg.raw_message.subject, deliveries=deliveries)
            if deliveries >= REDELIVERY.attempts:
                raise RejectMessage() from error
            raise NackMessage(delay=REDELIVERY.delay(deliveries).total_seconds()) from error


class _Traced(BaseMiddleware):
    """Outermost, so that what the handler and the retries log is under the message's trace."""

    async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: StreamMessage[Any]) -> Any:
        with tracing.processing(msg.raw_message.subject, msg.headers):
            return await call_next(msg)


def _raced(error: Exception) -> TypeGuard[IntegrityError]:
    return isinstance(error, IntegrityError) and getattr(error.orig, "sqlstate", None) == _UNIQUE_VIOLATION


class _QuietLogger:
    """FastStream logs every message at INFO; keep only what needs attention."""

    def log(self, level: int, msg: Any, /, *, exc_info: Any = None, extra: Any = None) -> None:
        if level >= logging.WARNING and not _idle_pull_ended(exc_info):
            _log.log(level, str(msg), exc_info=exc_info, **(extra or {}))


def _idle_pull_ended(error: Any) -> bool:
    """A pull that found no message before its deadline: nats-py may end it with asyncio's TimeoutError
    where FastStream expects nats' own, and FastStream then starts the next pull, which is all that
    should happen; its report of a failed task says nothing."""
    return isinstance(error, TimeoutError)


class Broker:
    def __init__(self, url: str, service: str, handlers_at_once: int = 1) -> None:
        self._service = service
        self._handlers_at_once = handlers_at_once
        self._broker = NatsBroker(
            url,
            logger=_QuietLogger(),
            graceful_timeout=_GRACEFUL_SECONDS,
            middlewares=[_Traced, _RetryWithBackoff],
            max_reconnect_attempts=-1,
            # Handlers take the decoded body and validate it as their message type themselves: FastDepends'
            # injection and validation of each call would only do it a second time, at a cost on every message.
            apply_types=False,
        )
        self._stream = JStream(name=STREAM_NAME, declare=False)
        self._subscribers: list[Any] = []
        self._subscribed: list[type[Message]] = []

    @property
    def subscribed(self) -> tuple[type[Message], ...]:
        """The message types this service hears, in the order it subscribed (its part of the event contract)."""
        return tuple(self._subscribed)

    def subscribe(self, message_type: type[MessageT], handler: Handler[MessageT], *, consumer: str = "") -> None:
        """Before `start()`: run `handler` for every `message_type` published, at least once."""
        durable = f"{self._service}-{consumer or message_type.__name__}".replace(".", "-")

        async def receive(body: dict[str, Any]) -> None:
            await handler(message_type.from_payload(body))

        subscriber = self._broker.subscriber(
            message_type.subject,
            stream=self._stream,
            durable=durable,
            pull_sub=PullSub(batch_size=self._handlers_at_once, timeout=1.0),
            max_workers=self._handlers_at_once,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            config=ConsumerConfig(max_deliver=MAX_DELIVERIES + 1, ack_wait=60),
        )
        subscriber(receive)
        self._subscribers.append(subscriber)
        self._subscribed.append(message_type)

    async def start(self) -> None:
        await self._broker.connect()
        await declare_stream(self._broker)
        await self._broker.start()

    async def stop_consuming(self) -> None:
        for subscriber in self._subscribers:
            await subscriber.stop()

    async def stop(self) -> None:
        await self._broker.stop()

    async def is_ready(self) -> bool:
        return bool(await self._broker.ping(timeout=1.0))

    async def publish(
        self,
        subject: str,
        payload: dict[str, Any],
        message_id: str,
        trace_context: Mapping[str, str] | None = None,
    ) -> None:
        """Returns once JetStream stored the message; the id de-duplicates a re-publish. The message goes on
        the trace of `trace_context` (the headers `tracing.current_trace_context` gave), else the current one."""
        with tracing.publishing(subject, message_id, trace_context) as trace_headers:
            await self._broker.publish(
                payload,
                subject,
                stream=STREAM_NAME,
                headers={**trace_headers, "Nats-Msg-Id": message_id},
                timeout=_PUBLISH_TIMEOUT_SECONDS,
            )

    async def publish_message(self, message: Message) -> None:
        await self.publish(message.subject, message.to_payload(), message.message_id)

    async def key_value(self, bucket: str) -> KeyValue:
        """A JetStream key-value bucket, created if missing, on this broker's connection (after `start()`)."""
        return await self._broker.key_value(bucket)

    async def replay(self, message_type: type[MessageT]) -> AsyncIterator[MessageT]:
        """After `start()`: every `message_type` the stream holds, oldest first, up to the last one stored when
        the replay reached it. Through a consumer of its own that acknowledges nothing, so the service's
        durable consumers go on as if it did not exist."""
        jetstream = self._broker.config.connection_state.stream
        config = jetstream_api.ConsumerConfig(
            deliver_policy=jetstream_api.DeliverPolicy.ALL,
            ack_policy=jetstream_api.AckPolicy.NONE,
            inactive_threshold=30.0,
        )
        subscription = await jetstream.pull_subscribe(message_type.subject, stream=STREAM_NAME, config=config)
        try:
            while True:
                try:
                    batch = await subscription.fetch(_REPLAY_BATCH, timeout=_REPLAY_WAIT_SECONDS)
                except TimeoutError:  # nats-py's own is a subclass: nothing more was stored
                    return
                for message in batch:
                    yield message_type.from_payload(message.data)
                if not batch or batch[-1].metadata.num_pending == 0:
                    return
        finally:
            await subscription.unsubscribe()

    async def publish_log(self, line: bytes) -> None:
        await self._broker.publish(line, LOG_SUBJECT)


class BrokerUnreachable(Exception):
    """No broker answered at the URL."""


@asynccontextmanager
async def following_logs(url: str) -> AsyncIterator[AsyncIterator[bytes]]:
    """The log lines services ship from the moment this is entered, until the broker goes away.

    Log lines are published to plain NATS, not kept in the stream: only a listener already there sees them.
    """

    async def quiet(_: Exception) -> None:
        """Connection errors surface as `BrokerUnreachable` or as the end of the lines, not as log noise."""

    try:
        # One quick retry, no long reconnecting: an embedded broker that comes back does so on another port.
        connection = await nats.connect(
            url,
            connect_timeout=_FOLLOWER_CONNECT_SECONDS,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.5,
            error_cb=quiet,
        )
    except (OSError, TimeoutError, nats.errors.Error) as error:
        raise BrokerUnreachable(f"no broker answers at {url}") from error
    try:
        subscription = await connection.subscribe(LOG_SUBJECT)
        await connection.flush()
        yield (message.data async for message in subscription.messages)
    finally:
        await connection.close()


async def declare_stream(broker: NatsBroker) -> None:
    """Create or update the one stream; every service does it at start, so start order does not matter."""
    jetstream = broker.config.connection_state.stream
    config = StreamConfig(name=STREAM_NAME, subjects=STREAM_SUBJECTS, duplicate_window=120.0)
    try:
        await jetstream.add_stream(config)
    except BadRequestError:
        await jetstream.update_stream(config)
