"""What every broker does the same way around a handler: its trace, what a failure leads to, what is measured.

A handler's message is acknowledged only after the handler returned, that is after its database transaction
committed. A failing handler's message comes back with a growing delay, and is set aside after its last
delivery; one that cannot even be read is set aside at once. How a message comes back and where it is set
aside is each broker's own (`jetstream`, `rabbitmq`, `kafka`); when, and what is logged, is decided here.
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, Generic, Protocol, TypeGuard, TypeVar

import pydantic
import structlog
from prometheus_client import Counter, Histogram
from sqlalchemy.exc import IntegrityError

from pay.platform.retry import RetryPolicy

MAX_DELIVERIES = 25
# A failing handler's message comes back after these delays, and is set aside after its last delivery.
REDELIVERY = RetryPolicy(first_delay=timedelta(seconds=0.2), max_delay=timedelta(seconds=30), attempts=MAX_DELIVERIES)
PUBLISH_TIMEOUT_SECONDS = 5.0
GRACEFUL_SECONDS = 8.0
REPLAY_BATCH = 500
_UNIQUE_VIOLATION = "23505"

HANDLING_LAG = Histogram(
    "pay_message_handling_lag_seconds",
    "From when a message's event happened to when its handler committed: how far behind a consumer is",
    ["service", "subject"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
SET_ASIDE = Counter(
    "pay_messages_set_aside_total",
    "Messages no handler will take again: unreadable, or failed on every delivery",
    ["service", "subject"],
)

_log = structlog.get_logger()

Receive = Callable[[Any], Awaitable[None]]
"""A subscription's handler as a broker calls it: with the message's decoded body."""


class BrokerUnreachable(Exception):
    """No broker answered at the URL."""


def redacted(url: str) -> str:
    """A broker URL fit to print: without the password it may hold."""
    scheme, separator, rest = url.partition("://")
    credentials, at, where = rest.rpartition("@")
    if not at:
        return url
    return f"{scheme}{separator}{credentials.partition(':')[0]}@{where}"


class Transport(Protocol):
    """One broker product under `Broker`: subscriptions, publishing, and the stream's history."""

    def subscribe(self, subject: str, durable: str, receive: Receive) -> None: ...

    async def start(self) -> None: ...

    async def stop_consuming(self) -> None: ...

    async def stop(self) -> None: ...

    async def is_ready(self) -> bool: ...

    async def publish(self, subject: str, payload: dict[str, Any], message_id: str, headers: dict[str, str]) -> None:
        """Returns once the broker stored the message."""

    def replay(self, subject: str) -> AsyncIterator[bytes]:
        """Every body of `subject` the broker keeps, oldest first, up to the last stored when the replay began."""

    async def publish_log(self, line: bytes) -> None: ...


class _FastStreamBroker(Protocol):
    async def stop(self) -> None: ...

    async def ping(self, timeout: float | None) -> bool: ...  # noqa: ASYNC109 (FastStream's own signature)


FastStreamBroker = TypeVar("FastStreamBroker", bound=_FastStreamBroker)


class FastStreamTransport(Generic[FastStreamBroker]):
    """What every transport does the same way: it holds a FastStream broker, `faststream` (which FastStream's test
    brokers take), and the subscribers made on it."""

    def __init__(self, service: str, faststream: FastStreamBroker) -> None:
        self._service = service
        self.faststream = faststream
        self._subscribers: list[Any] = []

    async def stop_consuming(self) -> None:
        for subscriber in self._subscribers:
            await subscriber.stop()

    async def stop(self) -> None:
        await self.faststream.stop()

    async def is_ready(self) -> bool:
        return await self.faststream.ping(timeout=1.0)


def next_delivery(service: str, subject: str, deliveries: int, error: Exception) -> float | None:
    """Called in the `except` of a handler that failed on its `deliveries`-th delivery: logs why, and gives the
    seconds until the message is delivered again, or None when it is to be set aside."""
    if isinstance(error, pydantic.ValidationError):
        _log.error("message_rejected", subject=subject, error=str(error))
        SET_ASIDE.labels(service, subject).inc()
        return None
    if _raced(error):
        # Handlers run several at once, so a redelivery or a saga's resend can be handled beside its first
        # copy: the loser's insert meets the winner's key, and its next delivery finds the work done.
        _log.warning("message_raced", subject=subject, deliveries=deliveries, error=str(error.orig))
    else:
        _log.exception("message_failed", subject=subject, deliveries=deliveries)
    if deliveries >= REDELIVERY.attempts:
        _log.error("message_set_aside", subject=subject, deliveries=deliveries)
        SET_ASIDE.labels(service, subject).inc()
        return None
    return REDELIVERY.delay(deliveries).total_seconds()


def _raced(error: Exception) -> TypeGuard[IntegrityError]:
    return isinstance(error, IntegrityError) and getattr(error.orig, "sqlstate", None) == _UNIQUE_VIOLATION


def text_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    """A message's headers as the trace reads them: brokers may hand back bytes or numbers."""
    return {
        name: value.decode() if isinstance(value, bytes) else str(value)
        for name, value in headers.items()
        if isinstance(value, str | bytes | int)
    }


class QuietLogger:
    """FastStream logs every message at INFO; keep only what needs attention. A broker names the errors that
    are part of its normal work (`unremarkable`), which FastStream would otherwise report as failures."""

    def __init__(self, unremarkable: tuple[type[BaseException], ...] = ()) -> None:
        self._unremarkable = unremarkable

    def log(self, level: int, msg: Any, /, *, exc_info: Any = None, extra: Any = None) -> None:
        if level >= logging.WARNING and not isinstance(exc_info, self._unremarkable):
            _log.log(level, str(msg), exc_info=exc_info, **(extra or {}))
