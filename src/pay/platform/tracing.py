"""Traces: OpenTelemetry across HTTP and the broker, sent to an OTLP collector when one is named.

Every service's process gets a trace id for each request it answers and each message it handles, and
passes it on: in the `traceparent` header of its calls to other services (httpx), and with every
message it writes to its outbox and every saga it starts, so that the relay and the saga timer, which
run later in tasks of their own, still publish and step as part of the trace that wrote them. The
request id rides along as W3C baggage.

Spans leave the process only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or its `_TRACES_` form) is set, in
batches over OTLP/HTTP; otherwise none is recorded and the ids only name the log lines. The SDK reads
its other `OTEL_*` variables itself (service name, sampler, batch sizes).
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import baggage, context, propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from starlette.middleware import Middleware

# The baggage entry that carries the request id from service to service.
REQUEST_ID = "pay.request_id"
# Asked many times a second by probes and scrapers: a trace of each would bury the ones that matter.
_UNTRACED_PATHS = r"/health/,/metrics$"
_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def configure_tracing(service: str) -> None:
    """Once per process, by the first kernel built in it: a program (or test) that set a provider of its own
    keeps it. `OTEL_SERVICE_NAME` names the process if set, else the service does."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(_provider(service))
    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


def _provider(service: str) -> TracerProvider:
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service}))
    if not any(os.environ.get(variable) for variable in _ENDPOINT_VARIABLES):
        # Ids are still made and passed on, for the logs; spans that nobody would receive are not recorded.
        return TracerProvider(resource=resource, sampler=ALWAYS_OFF)
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def _tracer() -> trace.Tracer:
    # Asked for at each use rather than kept: a test may give the process another provider.
    return trace.get_tracer(__name__)


def server_middleware() -> Middleware:
    """A server span for each request, continuing the caller's trace (the `traceparent` it sent)."""
    return Middleware(OpenTelemetryMiddleware, excluded_urls=_UNTRACED_PATHS, exclude_spans=["receive", "send"])


def name_request(method: str, route: str) -> None:
    """Names the request's span after its route, known only once the request was routed."""
    span = trace.get_current_span()
    if span.is_recording():
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)


@contextmanager
def with_request_id(request_id: str) -> Iterator[None]:
    """Within: the request id is what this process logs and what its calls and messages carry on."""
    token = context.attach(baggage.set_baggage(REQUEST_ID, request_id))
    try:
        yield
    finally:
        context.detach(token)


def current_request_id() -> str | None:
    """The request id under way: the request's own, or the one the call, message or saga step being handled
    brought along (None outside any)."""
    value = baggage.get_baggage(REQUEST_ID)
    return value if isinstance(value, str) else None


def current_trace_context() -> dict[str, str] | None:
    """The trace and request id under way, as the headers that carry them on (None outside any)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier or None


@contextmanager
def publishing(subject: str, message_id: str, trace_context: Mapping[str, str] | None) -> Iterator[dict[str, str]]:
    """A producer span in the trace that wrote the message (`trace_context`, kept with it in the outbox; None:
    the current trace), and the headers that carry that trace on to the consumers."""
    with _tracer().start_as_current_span(
        f"{subject} publish",
        context=None if trace_context is None else propagate.extract(trace_context),
        kind=trace.SpanKind.PRODUCER,
        attributes={"messaging.destination.name": subject, "messaging.message.id": message_id},
    ):
        headers: dict[str, str] = {}
        propagate.inject(headers)
        yield headers


@contextmanager
def processing(subject: str, headers: Mapping[str, str]) -> Iterator[None]:
    """A consumer span continuing the trace the message's headers carry, current while it is handled."""
    with _tracer().start_as_current_span(
        f"{subject} process",
        context=propagate.extract(headers),
        kind=trace.SpanKind.CONSUMER,
        attributes={"messaging.destination.name": subject},
    ):
        yield


@contextmanager
def resuming(saga_id: str, trace_context: Mapping[str, str] | None) -> Iterator[None]:
    """A span for a saga's step that its timer runs, in the trace that started the saga (`trace_context`, kept
    with it), so that what the step calls and sends stays in that trace."""
    with _tracer().start_as_current_span(
        "saga step",
        context=propagate.extract(trace_context or {}),
        kind=trace.SpanKind.INTERNAL,
        attributes={"saga.id": saga_id},
    ):
        yield
