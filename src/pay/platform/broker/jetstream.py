"""NATS JetStream, what `pay up` runs (`nats://`).

One stream (`PAY`) holds every event and command. Each service reads it through durable pull consumers of its
own, so every service sees every message it subscribes to, and instances of one service share the work. A
failed message comes back through JetStream's delayed negative acknowledgement and is set aside by
terminating it; it stays in the stream. A re-published message id is dropped within two minutes.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import nats
import nats.errors
from faststream import AckPolicy
from faststream.exceptions import NackMessage, RejectMessage
from faststream.nats import ConsumerConfig, JStream, NatsBroker, PullSub
from faststream.nats.message import NatsMessage
from nats.js import api as jetstream_api
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError
from nats.js.kv import KeyValue

from pay.contracts.messages import LOG_SUBJECT, STREAM_NAME, STREAM_SUBJECTS
from pay.platform import tracing
from pay.platform.broker.handling import (
    GRACEFUL_SECONDS,
    MAX_DELIVERIES,
    PUBLISH_TIMEOUT_SECONDS,
    REPLAY_BATCH,
    BrokerUnreachable,
    FastStreamTransport,
    QuietLogger,
    Receive,
    next_delivery,
    redacted,
)

_FOLLOWER_CONNECT_SECONDS = 2.0
# A pull that found no message before its deadline: nats-py may end it with asyncio's TimeoutError where
# FastStream expects nats' own, and FastStream then starts the next pull, which is all that should happen; its
# report of a failed task says nothing.
IDLE_PULL_ENDED = (TimeoutError,)
_REPLAY_WAIT_SECONDS = 1.0


class JetStreamTransport(FastStreamTransport[NatsBroker]):
    def __init__(self, url: str, service: str, handlers_at_once: int) -> None:
        self._handlers_at_once = handlers_at_once
        super().__init__(
            service,
            NatsBroker(
                url,
                logger=QuietLogger(unremarkable=IDLE_PULL_ENDED),
                graceful_timeout=GRACEFUL_SECONDS,
                max_reconnect_attempts=-1,
                # Handlers take the decoded body and validate it as their message type themselves: FastDepends'
                # injection and validation of each call would only do it a second time, at a cost on every message.
                apply_types=False,
            ),
        )
        self._stream = JStream(name=STREAM_NAME, declare=False)

    def subscribe(self, subject: str, durable: str, receive: Receive) -> None:
        async def handle(body: Any) -> None:
            message: NatsMessage = self.faststream.context.get_local("message")
            with tracing.processing(subject, message.headers):
                try:
                    await receive(body)
                except Exception as error:
                    delay = next_delivery(self._service, subject, message.raw_message.metadata.num_delivered, error)
                    if delay is None:
                        raise RejectMessage() from error
                    raise NackMessage(delay=delay) from error

        subscriber = self.faststream.subscriber(
            subject,
            stream=self._stream,
            durable=durable,
            pull_sub=PullSub(batch_size=self._handlers_at_once, timeout=1.0),
            max_workers=self._handlers_at_once,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            config=ConsumerConfig(max_deliver=MAX_DELIVERIES + 1, ack_wait=60),
        )
        subscriber(handle)
        self._subscribers.append(subscriber)

    async def start(self) -> None:
        await self.faststream.connect()
        await self._declare_stream()
        await self.faststream.start()

    async def publish(self, subject: str, payload: dict[str, Any], message_id: str, headers: dict[str, str]) -> None:
        await self.faststream.publish(
            payload,
            subject,
            stream=STREAM_NAME,
            headers={**headers, "Nats-Msg-Id": message_id},
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )

    async def replay(self, subject: str) -> AsyncIterator[bytes]:
        """Through a consumer of its own that acknowledges nothing, so the service's durable consumers go on as
        if it did not exist."""
        jetstream = self.faststream.config.connection_state.stream
        config = jetstream_api.ConsumerConfig(
            deliver_policy=jetstream_api.DeliverPolicy.ALL,
            ack_policy=jetstream_api.AckPolicy.NONE,
            inactive_threshold=30.0,
        )
        subscription = await jetstream.pull_subscribe(subject, stream=STREAM_NAME, config=config)
        try:
            while True:
                try:
                    batch = await subscription.fetch(REPLAY_BATCH, timeout=_REPLAY_WAIT_SECONDS)
                except TimeoutError:  # nats-py's own is a subclass: nothing more was stored
                    return
                for message in batch:
                    yield message.data
                if not batch or batch[-1].metadata.num_pending == 0:
                    return
        finally:
            await subscription.unsubscribe()

    async def _declare_stream(self) -> None:
        """Create or update the one stream; every service does it at start, so start order does not matter."""
        jetstream = self.faststream.config.connection_state.stream
        config = StreamConfig(name=STREAM_NAME, subjects=STREAM_SUBJECTS, duplicate_window=120.0)
        try:
            await jetstream.add_stream(config)
        except BadRequestError:
            await jetstream.update_stream(config)

    async def key_value(self, bucket: str) -> KeyValue:
        """A JetStream key-value bucket, created if missing, on this broker's connection (after `start()`)."""
        return await self.faststream.key_value(bucket)

    async def publish_log(self, line: bytes) -> None:
        # Plain NATS, not the stream: only a listener already there sees a log line.
        await self.faststream.publish(line, LOG_SUBJECT)


@asynccontextmanager
async def following_logs(url: str) -> AsyncIterator[AsyncIterator[bytes]]:
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
        raise BrokerUnreachable(f"no broker answers at {redacted(url)}") from error
    try:
        subscription = await connection.subscribe(LOG_SUBJECT)
        await connection.flush()
        yield (message.data async for message in subscription.messages)
    finally:
        await connection.close()
