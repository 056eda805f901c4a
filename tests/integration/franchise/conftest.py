"""Franchise against real PostgreSQL and NATS; membership and banking played by the test."""

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from franchise_support import FakeWorld
from pay.franchise.app import create_app
from pay.franchise.settings import FranchiseSettings
from pay.platform import auth
from pay.platform.db import create_engine

from support import listening, provision, serving, settings_for, token_for


@pytest.fixture(scope="module")
def world() -> FakeWorld:
    return FakeWorld()


@pytest.fixture(scope="module")
async def others_url(world: FakeWorld) -> AsyncIterator[str]:
    async with listening(world.http_app()) as url:
        yield url


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("franchise")
    auth.ensure_signing_keys(path / "keys")
    return path


@pytest.fixture(scope="module")
async def database_url(pg: Any) -> str:
    return await provision(pg, "pay.franchise", f"franchise_{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
async def database(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=1)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
async def client(database_url: str, nats_url: str, data_dir: Path, others_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(
        FranchiseSettings,
        database_url,
        nats_url,
        data_dir,
        service_urls={"membership": others_url, "banking": others_url},
        service_token=token_for(data_dir, "franchise", auth.Role.SERVICE),
    )
    async with serving(create_app(settings)) as client:
        yield client


def _bearer(data_dir: Path, subject: str, role: auth.Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(data_dir, subject, role)}"}


@pytest.fixture
def member(world: FakeWorld, data_dir: Path) -> Callable[..., tuple[str, dict[str, str]]]:
    def create(corporate: bool = True) -> tuple[str, dict[str, str]]:
        membership_id = str(uuid.uuid4())
        (world.corporate if corporate else world.individuals).add(membership_id)
        return membership_id, _bearer(data_dir, membership_id, auth.Role.MEMBER)

    return create


@pytest.fixture
def account(world: FakeWorld) -> Callable[[], tuple[str, str]]:
    def open_one() -> tuple[str, str]:
        opened = ("KB", f"100-{uuid.uuid4().hex[:10]}")
        world.bank_accounts.add(opened)
        return opened

    return open_one


@pytest.fixture(scope="module")
def admin(data_dir: Path) -> dict[str, str]:
    return _bearer(data_dir, "admin", auth.Role.ADMIN)
