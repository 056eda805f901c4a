"""Session fixtures: a private PostgreSQL and NATS, started from the project's own wheels.

If either cannot start, the tests that need it fail: nothing here ever skips.
"""

import logging
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
