"""Session fixtures: a private PostgreSQL and NATS, started from the project's own wheels, and a private virtual
host on the machine's RabbitMQ.

If one cannot start, the tests that need it fail: nothing here ever skips.

The suite runs in pytest-xdist workers (`-n auto --dist loadfile`, pyproject.toml). Each worker is a
session of its own, so it starts its own servers, virtual host and `pay up` (for tests/e2e) under its own
base temporary directory; what is decided here is only how many workers there are.
"""

import logging
import os
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


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own override
    if config.args and all("::" in arg for arg in config.args):
        return 0  # tests named one by one: starting workers would cost more than they save
    # One per core: on 2 cores, 3 workers took 8:57 and 9:41 and let tests with short timeouts miss them;
    # 2 took 7:44 and less CPU, each worker's `pay up` and servers being fewer.
    return os.cpu_count() or 1


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
