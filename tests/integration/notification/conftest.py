"""Notification against real PostgreSQL and a NATS of its own, served by a real uvicorn (a stream is a long
response, which only a real server delivers piece by piece); money, remittance, payment, settlement and
franchise played by the test, publishing their events on the stream."""

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from pay.notification.app import create_app
from pay.notification.settings import NotificationSettings
from pay.platform import auth
from pay.platform.broker import Broker
from pay.platform.infra import EmbeddedNats

from support import listening, provision, settings_for, token_for

Running = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedNats(tmp_path_factory.mktemp("notification-nats")).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("notification")
    auth.ensure_signing_keys(path / "keys")
    return path


@pytest.fixture(scope="module")
async def database_url(pg: Any) -> str:
    return await provision(pg, "pay.notification", f"notification_{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def running(database_url: str, nats_url: str, data_dir: Path) -> Running:
    """Starts the service, with these settings, for the block's length."""

    @asynccontextmanager
    async def run(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = settings_for(NotificationSettings, database_url, nats_url, data_dir, **overrides)
        async with listening(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
            yield client

    return run


@pytest.fixture
async def client(running: Running) -> AsyncIterator[httpx.AsyncClient]:
    async with running(stream_heartbeat_seconds=0.5, ticket_seconds=2) as client:
        yield client


@pytest.fixture(scope="module")
async def publisher(nats_url: str) -> AsyncIterator[Broker]:
    broker = Broker(nats_url, f"test-publisher-{uuid.uuid4().hex[:6]}")
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture(scope="module")
def bearer(data_dir: Path) -> Callable[[str, auth.Role], dict[str, str]]:
    def headers(subject: str, role: auth.Role = auth.Role.MEMBER) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(data_dir, subject, role)}"}

    return headers
