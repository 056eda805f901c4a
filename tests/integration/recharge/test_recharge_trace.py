"""One recharge is one trace: money's request, the command through the broker, banking's handling of it and
its call to the bank simulator, and the answer back to money, all under the trace id money's request began.

The services run in this process, each on its own port (the bank simulator, membership and banking behind
uvicorn) and against the real PostgreSQL and NATS; their spans are kept in memory instead of being sent to a
collector. The kernel records no span without a collector, so the test gives the process a provider of its
own before any service is built, and takes it back after.
"""

import asyncio
from collections.abc import Iterator, Sequence

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.test.globals_test import reset_trace_globals
from opentelemetry.trace import SpanKind

from integration.recharge.test_recharge_at_the_bank import Stack, change, data_dir, member_with_account, stack
from pay.contracts.banking import FirmbankingSucceeded, RequestFirmbanking

# The recharge tests' services, built anew for this module (after its provider is set).
__all__ = ["data_dir", "stack"]


@pytest.fixture(scope="module", autouse=True)
def spans() -> Iterator[InMemorySpanExporter]:
    reset_trace_globals()
    # Instrumented by the first kernel of the run, on the provider of that time: again by the next, on this one.
    _uninstrument_httpx()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    try:
        yield exporter
    finally:
        provider.shutdown()
        _uninstrument_httpx()
        reset_trace_globals()


def _uninstrument_httpx() -> None:
    instrumentor = HTTPXClientInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


async def test_a_recharge_is_one_trace_from_money_through_the_broker_and_banking_to_the_bank(
    stack: Stack, spans: InMemorySpanExporter
) -> None:
    _, money = stack
    member, _ = await member_with_account(stack, 100_000)
    spans.clear()

    assert (await change(money, member, 30_000))["status"] == "SUCCEEDED"

    recorded = await _once_answered(spans)
    [request] = [span for span in recorded if _is_server(span, "/money/increase")]
    assert request.parent is None
    in_trace = [span for span in recorded if span.context.trace_id == request.context.trace_id]
    command, answer = RequestFirmbanking.subject, FirmbankingSucceeded.subject
    published = {span.context.span_id for span in in_trace if _is(span, SpanKind.PRODUCER, f"{command} publish")}
    handled = [span for span in in_trace if _is(span, SpanKind.CONSUMER, f"{command} process")]
    assert published and handled, _names(in_trace)
    assert all(span.parent is not None and span.parent.span_id in published for span in handled)
    # Money asks banking for the member's account over HTTP, and banking, handling the command, asks the bank.
    assert any(_is_server(span, "/banking/account/") for span in in_trace), _names(in_trace)
    bank = [span for span in in_trace if _is_server(span, "/bank/transfers")]
    assert any(_descends(span, handler, in_trace) for span in bank for handler in handled), _names(in_trace)
    # The bank's answer comes back to money through the broker, still in the same trace.
    assert any(_is(span, SpanKind.CONSUMER, f"{answer} process") for span in in_trace), _names(in_trace)


async def _once_answered(spans: InMemorySpanExporter) -> Sequence[ReadableSpan]:
    """The spans, once money's handling of the bank's answer ended (its span ends just after the request does)."""
    answered = f"{FirmbankingSucceeded.subject} process"
    for _ in range(50):
        if any(span.name == answered for span in spans.get_finished_spans()):
            break
        await asyncio.sleep(0.05)
    return spans.get_finished_spans()


def _is(span: ReadableSpan, kind: SpanKind, name: str) -> bool:
    return span.kind is kind and span.name == name


def _is_server(span: ReadableSpan, route: str) -> bool:
    return span.kind is SpanKind.SERVER and str((span.attributes or {}).get("http.route", "")).startswith(route)


def _descends(span: ReadableSpan, ancestor: ReadableSpan, spans: Sequence[ReadableSpan]) -> bool:
    by_id = {each.context.span_id: each for each in spans}
    parent = span.parent
    while parent is not None:
        if parent.span_id == ancestor.context.span_id:
            return True
        parent = by_id[parent.span_id].parent if parent.span_id in by_id else None
    return False


def _names(spans: Sequence[ReadableSpan]) -> list[str]:
    return sorted(f"{span.kind.name} {span.name}" for span in spans)
