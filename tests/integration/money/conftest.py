"""Money against real PostgreSQL and NATS, with banking played by the test: its account look-up over
HTTP on a real port, and its firm banking answers on the broker."""

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pay.contracts.banking import RequestFirmbanking
from pay.contracts.money import LedgerTransactionFailed, LedgerTransactionSucceeded
from pay.money.app import create_app
from pay.money.settings import MoneySettings
from pay.platform import auth
from pay.platform.broker import Broker

from money_support import FakeBanking, Member, Saga, bearer
from support import listening, provision, serving, settings_for, token_for


@pytest.fixture(scope="module")
def banking() -> FakeBanking:
    return FakeBanking()


@pytest.fixture(scope="module")
async def banking_url(banking: FakeBanking) -> AsyncIterator[str]:
    async with listening(banking.http_app()) as url:
        yield url


@pytest.fixture(scope="module")
async def bank_responder(banking: FakeBanking, nats_url: str) -> AsyncIterator[Broker]:
    broker = Broker(nats_url, f"fake-banking-{uuid.uuid4().hex[:6]}")

    async def on_command(command: RequestFirmbanking) -> None:
        await banking.answer(command, broker)

    broker.subscribe(RequestFirmbanking, on_command)
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture(scope="module")
async def database_url(pg: Any) -> str:
    return await provision(pg, "pay.money", f"money_{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("money")
    auth.ensure_signing_keys(path / "keys")
    return path


@pytest.fixture(scope="module")
def money_app(database_url: str, nats_url: str, data_dir: Path, banking_url: str) -> Callable[..., FastAPI]:
    def build(**overrides: Any) -> FastAPI:
        quick = {
            "saga_retry_first_seconds": 0.2,
            "saga_retry_max_seconds": 0.5,
            "account_check_deadline_seconds": 2,
            "refund_retry_seconds": 1.5,
            "refund_retry_max_pause_seconds": 0.3,
            "money_wait_seconds": 5,
        }
        settings = settings_for(
            MoneySettings,
            database_url,
            nats_url,
            data_dir,
            service_urls={"banking": banking_url},
            **quick | overrides,
        )
        return create_app(settings)

    return build


@pytest.fixture(scope="module")
async def client(money_app: Callable[..., FastAPI], bank_responder: Broker) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(money_app(wallet_balance_limit=1_000_000)) as client:
        yield client


@pytest.fixture
def new_member(data_dir: Path, client: httpx.AsyncClient) -> Callable[..., Any]:
    async def create(balance: int = 0, linked: bool = True, banking: FakeBanking | None = None) -> Member:
        membership_id = str(uuid.uuid4())
        member = Member(membership_id, bearer(token_for(data_dir, membership_id, auth.Role.MEMBER)))
        response = await client.post(
            "/money/create-member-money", json={"membershipId": membership_id}, headers=member.headers
        )
        assert response.status_code == 201, response.text
        if balance:
            assert banking is not None
            banking.link(membership_id)
            recharge = await client.post(
                "/money/increase", json={"targetMembershipId": membership_id, "amount": balance}, headers=member.headers
            )
            assert recharge.json()["status"] == "SUCCEEDED", recharge.text
        elif linked and banking is not None:
            banking.link(membership_id)
        return member

    return create


@pytest.fixture(scope="module")
def admin_headers(data_dir: Path) -> dict[str, str]:
    return bearer(token_for(data_dir, "admin", auth.Role.ADMIN))


@pytest.fixture(scope="module")
async def saga(nats_url: str, client: httpx.AsyncClient) -> AsyncIterator[Saga]:
    broker = Broker(nats_url, f"test-saga-{uuid.uuid4().hex[:6]}")
    listener = Saga(broker)
    broker.subscribe(LedgerTransactionSucceeded, listener.heard)
    broker.subscribe(LedgerTransactionFailed, listener.heard)
    await broker.start()
    yield listener
    await broker.stop()
