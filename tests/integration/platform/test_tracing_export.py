"""What a service's process does with its spans: sends them over OTLP/HTTP to the collector that
`OTEL_EXPORTER_OTLP_ENDPOINT` names, and records none when no collector is named.

Each case runs in a Python process of its own, as a service does: the tracer provider is set once per process.
"""

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

# What the kernel does when it is built, then one request's span, and whether it was recorded.
SERVICE_PROCESS = """
from opentelemetry import trace
from pay.platform.tracing import configure_tracing

configure_tracing("money")
with trace.get_tracer("test").start_as_current_span("POST /money/increase") as span:
    print(span.is_recording(), span.get_span_context().is_valid)
trace.get_tracer_provider().force_flush()
"""


class Collector(HTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Receiving)
        self.received: list[tuple[str, ExportTraceServiceRequest]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class _Receiving(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, ExportTraceServiceRequest.FromString(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def run_service(**environment: str) -> str:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", SERVICE_PROCESS],
        env=clean | environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_spans_go_to_the_collector_named_and_the_process_is_named_after_its_service(collector: Collector) -> None:
    assert run_service(OTEL_EXPORTER_OTLP_ENDPOINT=collector.url) == "True True"
    [(path, request)] = collector.received
    [resource_spans] = request.resource_spans
    names = {item.key: item.value.string_value for item in resource_spans.resource.attributes}
    assert path == "/v1/traces" and names["service.name"] == "money"
    assert [span.name for scope in resource_spans.scope_spans for span in scope.spans] == ["POST /money/increase"]


def test_otel_service_name_names_the_process(collector: Collector) -> None:
    run_service(OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, OTEL_SERVICE_NAME="pay-money-eu")
    [(_, request)] = collector.received
    names = {item.key: item.value.string_value for item in request.resource_spans[0].resource.attributes}
    assert names["service.name"] == "pay-money-eu"


def test_without_a_collector_no_span_is_recorded_but_ids_are_made() -> None:
    assert run_service() == "False True"
