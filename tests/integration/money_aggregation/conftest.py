"""Money aggregation against a real membership and a real money, each on a real port, on the session's
PostgreSQL and NATS; banking is played by the test for the one recharge that funds the regions."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from money_aggregation_support import REGION_SIZES, Headers, Region
from pay.contracts.banking import RequestFirmbanking
from pay.membership.app import create_app as create_membership
from pay.membership.domain.model import Member
from pay.membership.settings import MembershipSettings
from pay.money.app import create_app as create_money
from pay.money.settings import MoneySettings
from pay.money_aggregation.app import create_app
from pay.money_aggregation.settings import MoneyAggregationSettings
from pay.platform import auth
from pay.platform.broker import Broker

from money_support import FakeBanking, bearer
from support import listening, provision, serving, settings_for, token_for


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("money-aggregation")
    auth.ensure_signing_keys(path / "keys")
    return path


@pytest.fixture(scope="module")
def admin(data_dir: Path) -> Headers:
    return bearer(token_for(data_dir, "admin", auth.Role.ADMIN))


@pytest.fixture(scope="module")
async def membership(pg: Any, nats_url: str, data_dir: Path) -> AsyncIterator[tuple[FastAPI, str]]:
    database_url = await provision(pg, "pay.membership", f"membership_{uuid.uuid4().hex[:8]}")
    app = create_membership(settings_for(MembershipSettings, database_url, nats_url, data_dir))
    async with listening(app) as url:
        yield app, url


@pytest.fixture(scope="module")
async def money_url(pg: Any, nats_url: str, data_dir: Path) -> AsyncIterator[str]:
    banking = FakeBanking()
    responder = Broker(nats_url, f"fake-banking-{uuid.uuid4().hex[:6]}")

    async def on_command(command: RequestFirmbanking) -> None:
        await banking.answer(command, responder)

    responder.subscribe(RequestFirmbanking, on_command)
    await responder.start()
    database_url = await provision(pg, "pay.money", f"money_{uuid.uuid4().hex[:8]}")
    async with listening(banking.http_app()) as banking_url:
        money = create_money(
            settings_for(MoneySettings, database_url, nats_url, data_dir, service_urls={"banking": banking_url})
        )
        async with listening(money) as url:
            banking.link("treasury")
            yield url
    await responder.stop()


@pytest.fixture(scope="module")
async def regions(membership: tuple[FastAPI, str], money_url: str, admin: Headers) -> dict[int, Region]:
    """A region of each size, every member registered with membership (money opens its wallet on the event) and
    given a balance of its own by a transfer from a funded treasury wallet."""
    app, _ = membership
    prefix = uuid.uuid4().hex[:6]
    regions = {size: Region(f"{prefix}-{size}명", {}) for size in REGION_SIZES}
    now = datetime.now(UTC)
    async with app.state.membership.uow() as uow:
        for size, region in regions.items():
            for number in range(size):
                membership_id = str(uuid.uuid4())
                # Registered directly: hashing 551 passwords would be all this fixture did.
                member = Member.register(
                    membership_id, "Kim", f"{membership_id}@example.com", region.address, False, "unused", now
                )
                await uow.members.add(member)
                region.balances[membership_id] = 1_000 + size * 1_000 + number
        await uow.commit()
    members = [membership_id for region in regions.values() for membership_id in region.balances]
    total = sum(region.money_sum for region in regions.values())
    async with httpx.AsyncClient(base_url=money_url, headers=admin, timeout=30) as money:
        created = await money.post("/money/create-member-money", json={"membershipId": "treasury"})
        assert created.status_code == 201, created.text
        charged = await money.post("/money/increase", json={"targetMembershipId": "treasury", "amount": total})
        assert charged.json()["status"] == "SUCCEEDED", charged.text
        await _wallets_opened(money, members)
        slots = asyncio.Semaphore(16)

        async def give(membership_id: str, amount: int) -> None:
            async with slots:
                body = {"fromMembershipId": "treasury", "toMembershipId": membership_id, "amount": amount}
                sent = await money.post("/money/transfer", json=body)
                assert sent.json()["status"] == "SUCCEEDED", sent.text

        async with asyncio.TaskGroup() as group:
            for region in regions.values():
                for membership_id, amount in region.balances.items():
                    group.create_task(give(membership_id, amount))
    return regions


async def _wallets_opened(money: httpx.AsyncClient, members: Sequence[str]) -> None:
    async with asyncio.timeout(30):
        while True:
            opened = set()
            for start in range(0, len(members), 1000):
                found = await money.post("/money/member-money", json={"membershipIds": members[start : start + 1000]})
                opened |= {wallet["membershipId"] for wallet in found.json()}
            if opened == set(members):
                return
            await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
async def database_url(pg: Any) -> str:
    return await provision(pg, "pay.money_aggregation", f"aggregation_{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def aggregation_app(
    data_dir: Path, database_url: str, nats_url: str, membership: tuple[FastAPI, str], money_url: str
) -> Callable[..., FastAPI]:
    """The aggregation asking the real membership and money, unless `service_urls` points one elsewhere."""

    def build(service_urls: dict[str, str] | None = None, **overrides: Any) -> FastAPI:
        settings = settings_for(
            MoneyAggregationSettings,
            database_url,
            nats_url,
            data_dir,
            service_urls={"membership": membership[1], "money": money_url} | (service_urls or {}),
            service_token=token_for(data_dir, "money-aggregation", auth.Role.SERVICE),
            **overrides,
        )
        return create_app(settings)

    return build


@pytest.fixture(scope="module")
async def client(aggregation_app: Callable[..., FastAPI]) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(aggregation_app()) as client:
        yield client
