"""Payment against real PostgreSQL and NATS; membership, franchise, banking and money played by the test."""

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pay.contracts.banking import RequestFirmbanking
from pay.contracts.money import LedgerCommand
from pay.payment.app import create_app
from pay.payment.settings import PaymentSettings
from pay.platform import auth
from pay.platform.broker import Broker
from payment_support import COMMANDS, FakeFranchise, FakeWorld

from support import listening, provision, serving, settings_for, token_for

Headers = dict[str, str]


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

    async def on_transfer(command: RequestFirmbanking) -> None:
        await world.answer_transfer(command, broker)

    for kind in COMMANDS:
        broker.subscribe(kind, on_ledger)
    broker.subscribe(RequestFirmbanking, on_transfer)
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("payment")
    auth.ensure_signing_keys(path / "keys")
    return path


@pytest.fixture(scope="module")
async def database_url(pg: Any) -> str:
    return await provision(pg, "pay.payment", f"payment_{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def payment_app(database_url: str, nats_url: str, data_dir: Path, others_url: str) -> Callable[..., FastAPI]:
    def build(**overrides: Any) -> FastAPI:
        quick = {"payment_wait_seconds": 5, "payment_retry_first_seconds": 0.3, "payment_retry_max_seconds": 0.6}
        settings = settings_for(
            PaymentSettings,
            database_url,
            nats_url,
            data_dir,
            service_urls={name: others_url for name in ("membership", "franchise", "banking", "money")},
            service_token=token_for(data_dir, "payment", auth.Role.SERVICE),
            **quick | overrides,
        )
        return create_app(settings)

    return build


@pytest.fixture(scope="module")
async def client(payment_app: Callable[..., FastAPI], responders: Broker) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(payment_app()) as client:
        yield client


@pytest.fixture
def member(world: FakeWorld, data_dir: Path) -> Callable[..., tuple[str, Headers]]:
    def create(balance: int = 0, bank_account: str | None = None) -> tuple[str, Headers]:
        membership_id = str(uuid.uuid4())
        world.balances[membership_id] = balance
        if bank_account is not None:
            world.linked[membership_id] = ("SH", bank_account)
        return membership_id, {"Authorization": f"Bearer {token_for(data_dir, membership_id, auth.Role.MEMBER)}"}

    return create


@pytest.fixture
def franchise(world: FakeWorld, member: Callable[..., tuple[str, Headers]]) -> Callable[..., tuple[str, Headers]]:
    """A franchise and its owner's headers."""

    def create(fee_rate: str = "3.5", valid: bool = True) -> tuple[str, Headers]:
        owner, headers = member()
        franchise_id = f"f-{uuid.uuid4().hex[:12]}"
        world.franchises[franchise_id] = FakeFranchise(owner, fee_rate, valid)
        return franchise_id, headers

    return create


@pytest.fixture(scope="module")
def admin(data_dir: Path) -> Headers:
    return {"Authorization": f"Bearer {token_for(data_dir, 'admin', auth.Role.ADMIN)}"}


@pytest.fixture(scope="module")
def service(data_dir: Path) -> Headers:
    return {"Authorization": f"Bearer {token_for(data_dir, 'settlement', auth.Role.SERVICE)}"}
