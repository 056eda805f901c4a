"""Session fixtures: a private PostgreSQL and NATS, started from the project's own wheels, and a private virtual
host on the machine's RabbitMQ.

If one cannot start, the tests that need it fail: nothing here ever skips.
"""

import logging
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from pay.platform.infra import EmbeddedNats, EmbeddedPostgres

# Plain tracebacks: the default pretty ones print every local variable and make failing runs crawl.
structlog.configure(
    processors=[
        structlog.processors.add_log_level,
        structlog.processors.format_exc_info,
        structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback),
    ],
    wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
)


@pytest.fixture(scope="session")
def infra_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("infra")


@pytest.fixture(scope="session")
def pg(infra_dir: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(infra_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def nats_url(infra_dir: Path) -> Iterator[str]:
    server = EmbeddedNats(infra_dir)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def rabbitmq_url() -> Iterator[str]:
    """A virtual host of its own on the machine's RabbitMQ (127.0.0.1:5672, guest), gone after the session: runs
    side by side never take each other's messages."""
    vhost = f"pay-test-{uuid.uuid4().hex[:12]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def _rabbitmqctl(*arguments: str) -> None:
    if shutil.which("rabbitmqctl") is None:
        raise RuntimeError("the RabbitMQ tests need the machine's RabbitMQ and its rabbitmqctl (127.0.0.1:5672)")
    subprocess.run(["rabbitmqctl", "-q", *arguments], check=True, capture_output=True, timeout=60)
