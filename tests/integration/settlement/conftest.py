"""Settlement against real PostgreSQL and NATS; payment, franchise, money and banking played by the test."""

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pay.contracts.banking import RequestFirmbanking
from pay.contracts.money import SettlePayable
from pay.platform import auth
from pay.platform.broker import Broker
from pay.settlement.app import create_app
from pay.settlement.settings import SettlementSettings
from settlement_support import FakeWorld

from support import listening, provision, serving, settings_for, token_for


@pytest.fixture(scope="module")
def world() -> FakeWorld:
    return FakeWorld()


@pytest.fixture(scope="module")
async def others_url(world: FakeWorld) -> AsyncIterator[str]:
    async with listening(world.http_app()) as url:
        yield url


@pytest.fixture(scope="module")
async def responders(world: FakeWorld, nats_url: str) -> AsyncIterator[Broker]:
    broker = Broker(nats_url, f"fake-money-banking-{uuid.uuid4().hex[:6]}")

    async def on_settle(command: SettlePayable) -> None:
        await world.answer_settlement(command, broker)

    async def on_payout(command: RequestFirmbanking) -> None:
        await world.answer_payout(command, broker)

    broker.subscribe(SettlePayable, on_settle)
    broker.subscribe(RequestFirmbanking, on_payout)
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("settlement")
    auth.ensure_signing_keys(path / "keys")
    return path


@pytest.fixture(scope="module")
async def database_url(pg: Any) -> str:
    return await provision(pg, "pay.settlement", f"settlement_{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def settlement_app(database_url: str, nats_url: str, data_dir: Path, others_url: str) -> Callable[..., FastAPI]:
    def build(**overrides: Any) -> FastAPI:
        quick = {
            "settlement_schedule": "off",
            "settlement_retry_first_seconds": 0.3,
            "settlement_retry_max_seconds": 0.6,
            "settlement_gather_lease_seconds": 5,
            "http_timeout_seconds": 2,
        }
        settings = settings_for(
            SettlementSettings,
            database_url,
            nats_url,
            data_dir,
            service_urls={"payment": others_url, "franchise": others_url},
            service_token=token_for(data_dir, "settlement", auth.Role.SERVICE),
            **quick | overrides,
        )
        return create_app(settings)

    return build


@pytest.fixture(scope="module")
async def client(settlement_app: Callable[..., FastAPI], responders: Broker) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(settlement_app()) as client:
        yield client


@pytest.fixture(scope="module")
def admin(data_dir: Path) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(data_dir, 'admin', auth.Role.ADMIN)}"}


@pytest.fixture
def member(data_dir: Path) -> Callable[[str], dict[str, str]]:
    def headers(membership_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(data_dir, membership_id, auth.Role.MEMBER)}"}

    return headers
