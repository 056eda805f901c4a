"""Session fixtures: a private PostgreSQL and NATS, started from the project's own wheels.

If either cannot start, the tests that need it fail: nothing here ever skips.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from pay.platform.infra import EmbeddedNats, EmbeddedPostgres


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
