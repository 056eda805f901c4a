"""Every log line names the request it belongs to and its trace, even where no span is recorded."""

import orjson
import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import format_span_id, format_trace_id

from pay.platform.logging import configure_logging
from pay.platform.tracing import with_request_id


def test_a_log_line_carries_the_request_id_and_the_trace_id(capsys: pytest.CaptureFixture[str]) -> None:
    # Without a collector the kernel records no span; the ids are made and passed on all the same.
    tracer = TracerProvider(sampler=ALWAYS_OFF).get_tracer(__name__)
    kept = structlog.get_config()
    configure_logging("money")
    try:
        with tracer.start_as_current_span("POST /money/increase") as span, with_request_id("r-1"):
            structlog.get_logger().warning("bank_slow")
    finally:
        structlog.configure(**kept)
    line = orjson.loads(capsys.readouterr().out.splitlines()[-1])
    context = span.get_span_context()
    assert context.trace_id and not span.is_recording()
    assert (line["event"], line["service"], line["request_id"]) == ("bank_slow", "money", "r-1")
    assert (line["trace_id"], line["span_id"]) == (format_trace_id(context.trace_id), format_span_id(context.span_id))


def test_a_log_line_outside_any_request_names_none(capsys: pytest.CaptureFixture[str]) -> None:
    kept = structlog.get_config()
    configure_logging("money")
    try:
        structlog.get_logger().info("service_started")
    finally:
        structlog.configure(**kept)
    line = orjson.loads(capsys.readouterr().out.splitlines()[-1])
    assert line["event"] == "service_started" and not {"request_id", "trace_id", "span_id"} & line.keys()
