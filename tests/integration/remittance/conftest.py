"""Remittance against real PostgreSQL and NATS; membership, banking and money played by the test."""

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pay.contracts.banking import RequestFirmbanking
from pay.contracts.money import (
    CaptureHold,
    HoldMoney,
    LedgerCommand,
    RechargeWallet,
    ReleaseHold,
    TransferBetweenWallets,
)
from pay.platform import auth
from pay.platform.broker import Broker
from pay.remittance.app import create_app
from pay.remittance.settings import RemittanceSettings
from remittance_support import FakeWorld

from support import listening, provision, serving, settings_for, token_for

DAILY_LIMIT = 2_000_000


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

    async def on_ledger(command: LedgerCommand) -> None:
        await world.answer_ledger(command, broker)

    async def on_payout(command: RequestFirmbanking) -> None:
        await world.answer_payout(command, broker)

    for kind in (RechargeWallet, TransferBetweenWallets, HoldMoney, CaptureHold, ReleaseHold):
        broker.subscribe(kind, on_ledger)
    broker.subscribe(RequestFirmbanking, on_payout)
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("remittance")
    auth.ensure_signing_keys(path / "keys")
    return path


@pytest.fixture(scope="module")
async def database_url(pg: Any) -> str:
    return await provision(pg, "pay.remittance", f"remittance_{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def remittance_app(database_url: str, nats_url: str, data_dir: Path, others_url: str) -> Callable[..., FastAPI]:
    def build(**overrides: Any) -> FastAPI:
        quick = {
            "remittance_daily_limit": DAILY_LIMIT,
            # The wait ends as soon as the remittance does: a long one only spares a loaded machine a 202.
            "remittance_wait_seconds": 30,
            "remittance_retry_first_seconds": 0.3,
            "remittance_retry_max_seconds": 0.6,
        }
        settings = settings_for(
            RemittanceSettings,
            database_url,
            nats_url,
            data_dir,
            service_urls={"membership": others_url, "banking": others_url, "money": others_url},
            service_token=token_for(data_dir, "remittance", auth.Role.SERVICE),
            **quick | overrides,
        )
        return create_app(settings)

    return build


@pytest.fixture(scope="module")
async def client(remittance_app: Callable[..., FastAPI], responders: Broker) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(remittance_app()) as client:
        yield client


@pytest.fixture
def member(world: FakeWorld, data_dir: Path) -> Callable[..., tuple[str, dict[str, str]]]:
    def create(balance: int = 0) -> tuple[str, dict[str, str]]:
        membership_id = str(uuid.uuid4())
        world.balances[membership_id] = balance
        return membership_id, {"Authorization": f"Bearer {token_for(data_dir, membership_id, auth.Role.MEMBER)}"}

    return create


@pytest.fixture(scope="module")
def admin(data_dir: Path) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(data_dir, 'admin', auth.Role.ADMIN)}"}
