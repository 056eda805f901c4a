"""Structured JSON logs with the request and trace ids, on stdout and shipped to the broker's log subject."""

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from opentelemetry import trace
from structlog.types import EventDict, WrappedLogger

from pay.platform.tracing import current_request_id

LogSink = Callable[[bytes], Awaitable[None]]


class BrokerLogShipper:
    """Forwards rendered log lines to the broker without ever blocking or failing the caller.

    Lines wait in a bounded queue; when the broker is slow the oldest are dropped rather than
    holding up requests.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(capacity)
        self._sink: LogSink | None = None
        self.dropped = 0

    def attach(self, sink: LogSink) -> None:
        self._sink = sink

    def detach(self) -> None:
        self._sink = None

    def offer(self, line: bytes) -> None:
        if self._sink is None:
            return
        try:
            self._queue.put_nowait(line)
        except asyncio.QueueFull:
            self.dropped += 1

    async def run(self) -> None:
        while True:
            line = await self._queue.get()
            sink = self._sink
            if sink is None:
                continue
            try:
                await sink(line)
            except Exception:
                self.dropped += 1

    def processor(self, _: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        self.offer(orjson.dumps(event_dict, default=str))
        return event_dict


SHIPPER = BrokerLogShipper()


def configure_logging(service: str, level: str = "INFO") -> None:
    level_number = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _add_request_and_trace,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _bind_service(service),
            structlog.processors.format_exc_info,
            SHIPPER.processor,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level_number),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    # Libraries log through the standard library; keep their warnings, silence their chatter.
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(levelname)s %(name)s %(message)s")


def _add_request_and_trace(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """The request under way and its trace, in a request or in the handling of a message it caused."""
    request_id = current_request_id()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        event_dict.setdefault("trace_id", trace.format_trace_id(span.trace_id))
        event_dict.setdefault("span_id", trace.format_span_id(span.span_id))
    return event_dict


def _bind_service(service: str) -> Callable[[WrappedLogger, str, EventDict], EventDict]:
    def bind(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return bind


def _dumps(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=str).decode()
