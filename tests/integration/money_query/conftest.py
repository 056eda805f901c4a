"""Money-query against real PostgreSQL and a NATS of its own (the tests restart it); money and membership
played by the test, publishing their events on the stream."""

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pay.money_query.app import create_app
from pay.money_query.settings import MoneyQuerySettings
from pay.platform import auth
from pay.platform.broker import Broker
from pay.platform.infra import EmbeddedNats

from support import provision, serving, settings_for, token_for


class RestartableNats:
    """A NATS that can be stopped and started again on the same port, keeping its stream."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._server = EmbeddedNats(data_dir).start()
        self.url = self._server.url
        self.port = int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        self._server.stop()

    def start(self) -> None:
        self._server = EmbeddedNats(self._data_dir, port=self.port).start()


@pytest.fixture(scope="module")
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableNats]:
    server = RestartableNats(tmp_path_factory.mktemp("query-nats"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("money-query")
    auth.ensure_signing_keys(path / "keys")
    return path


@pytest.fixture(scope="module")
async def database_url(pg: Any) -> str:
    return await provision(pg, "pay.money_query", f"money_query_{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
async def client(database_url: str, nats: RestartableNats, data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(MoneyQuerySettings, database_url, nats.url, data_dir)
    async with serving(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
async def publisher(nats: RestartableNats, client: httpx.AsyncClient) -> AsyncIterator[Broker]:
    broker = Broker(nats.url, f"test-publisher-{uuid.uuid4().hex[:6]}")
    await broker.start()
    yield broker
    await broker.stop()


def _bearer(data_dir: Path, subject: str, role: auth.Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(data_dir, subject, role)}"}


@pytest.fixture(scope="module")
def admin(data_dir: Path) -> dict[str, str]:
    return _bearer(data_dir, "admin", auth.Role.ADMIN)


@pytest.fixture(scope="module")
def member_headers(data_dir: Path) -> dict[str, str]:
    return _bearer(data_dir, str(uuid.uuid4()), auth.Role.MEMBER)
