"""The recharge and withdrawal sagas against the real banking service and the bank simulator,
each on a real port, with the simulator's faults: the money moves at the bank exactly once or not at all."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from integration.banking.harness import (
    CORPORATE_ACCOUNT,
    PATIENCE,
    SEND_WINDOW,
    Account,
    Services,
    banking_app,
    listening,
)
from pay.bank.app import create_app as create_bank_app
from pay.bank.settings import BankSettings
from pay.contracts.bank import BankFaults
from pay.contracts.clients import BankClient
from pay.membership.app import create_app as create_membership_app
from pay.membership.settings import MembershipSettings
from pay.money.app import create_app as create_money_app
from pay.money.settings import MoneySettings
from pay.platform import auth
from pay.platform.infra import EmbeddedPostgres

from support import provision, serving, settings_for, token_for

WALLET_LIMIT = 500_000
# No test here slows the bank, and four services and their consumers share this event loop, on a machine
# the other test workers keep busy: a call to the bank may wait its turn longer than the harness's short
# timeout, the module's first all the more (and the grace must cover the timeout).
PATIENT = {"bank_timeout_seconds": 3.0, "firmbanking_not_received_grace_seconds": 3.0}
Stack = tuple[Services, httpx.AsyncClient]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recharge")
    auth.ensure_signing_keys(path / "keys")
    return path


@pytest.fixture(scope="module")
async def stack(pg: EmbeddedPostgres, nats_url: str, data_dir: Path) -> AsyncIterator[Stack]:
    suffix = uuid.uuid4().hex[:8]
    bank_db = await provision(pg, "pay.bank", f"recharge_bank_{suffix}")
    membership_db = await provision(pg, "pay.membership", f"recharge_membership_{suffix}")
    banking_db = await provision(pg, "pay.banking", f"recharge_banking_{suffix}")
    money_db = await provision(pg, "pay.money", f"recharge_money_{suffix}")
    async with (
        listening(create_bank_app(BankSettings(database_url=bank_db))) as bank_url,
        listening(
            create_membership_app(settings_for(MembershipSettings, membership_db, nats_url, data_dir))
        ) as members,
        listening(banking_app(banking_db, nats_url, data_dir, bank_url, members, **PATIENT)) as banking_url,
    ):
        money_settings = settings_for(
            MoneySettings,
            money_db,
            nats_url,
            data_dir,
            service_token=token_for(data_dir, "money", auth.Role.SERVICE),
            service_urls={"banking": banking_url},
            wallet_balance_limit=WALLET_LIMIT,
            money_wait_seconds=10,
            saga_retry_first_seconds=0.3,
            saga_retry_max_seconds=1,
        )
        async with (
            serving(create_money_app(money_settings)) as money,
            httpx.AsyncClient(base_url=banking_url, timeout=10) as banking,
            httpx.AsyncClient(base_url=members, timeout=10) as membership,
            BankClient(bank_url, timeout=5) as bank,
        ):
            yield Services(banking, bank, membership, data_dir, banking_db), money
            await bank.set_faults(BankFaults())


async def member_with_account(stack: Stack, balance: int) -> tuple[Any, Account]:
    services, money = stack
    member = await services.member()
    account = await services.account(balance)
    assert (await services.link(member, account)).status_code == 201
    opened = await money.post(
        "/money/create-member-money", json={"membershipId": member.membership_id}, headers=member.headers
    )
    assert opened.status_code in (201, 409)
    return member, account


async def change(money: httpx.AsyncClient, member: Any, amount: int, path: str = "increase") -> dict[str, Any]:
    response = await money.post(
        f"/money/{path}", json={"targetMembershipId": member.membership_id, "amount": amount}, headers=member.headers
    )
    assert response.status_code in (200, 202), response.text
    request = dict(response.json())
    for _ in range(200):
        if request["status"] != "REQUESTED":
            return request
        await asyncio.sleep(0.1)
        request = dict((await money.get(request["statusUrl"], headers=member.headers)).json())
    raise AssertionError(f"still running: {request}")


async def wallet_balance(money: httpx.AsyncClient, member: Any) -> int:
    return int((await money.get(f"/money/{member.membership_id}", headers=member.headers)).json()["balance"])


async def corporate(services: Services) -> int:
    return await services.balance(CORPORATE_ACCOUNT)


async def test_a_recharge_moves_money_from_the_member_account_to_the_corporate_one(stack: Stack) -> None:
    services, money = stack
    member, account = await member_with_account(stack, 100_000)
    before = await corporate(services)
    assert (await change(money, member, 30_000))["status"] == "SUCCEEDED"
    assert await services.balance(account) == 70_000
    assert await corporate(services) == before + 30_000
    assert await wallet_balance(money, member) == 30_000


async def test_a_refusing_bank_fails_the_recharge_and_nothing_moves(stack: Stack) -> None:
    services, money = stack
    member, account = await member_with_account(stack, 10_000)
    request = await change(money, member, 30_000)
    assert request["status"] == "FAILED" and request["reason"]
    assert await services.balance(account) == 10_000
    assert await wallet_balance(money, member) == 0


async def test_a_flaky_bank_charges_exactly_once(stack: Stack) -> None:
    services, money = stack
    member, account = await member_with_account(stack, 100_000)
    await services.faults(error_rate=0.3)
    try:
        requests = [await change(money, member, 10_000) for _ in range(3)]
    finally:
        await services.faults()
    assert [request["status"] for request in requests] == ["SUCCEEDED"] * 3
    assert await services.balance(account) == 70_000
    assert await wallet_balance(money, member) == 30_000


async def test_a_bank_down_past_the_send_window_fails_and_nothing_moves(stack: Stack) -> None:
    services, money = stack
    member, account = await member_with_account(stack, 100_000)
    before = await corporate(services)
    await services.faults(down=True)
    try:
        started = await money.post(
            "/money/increase-async",
            json={"targetMembershipId": member.membership_id, "amount": 20_000},
            headers=member.headers,
        )
        await asyncio.sleep(SEND_WINDOW.total_seconds() + PATIENT["firmbanking_not_received_grace_seconds"] + 1)
    finally:
        await services.faults()
        # The outage opened banking's circuit to the bank: the tests after this one need it closed again.
        await asyncio.sleep(PATIENCE["bank_breaker_reset_seconds"])
    request = await change_outcome(money, member, started.json()["statusUrl"])
    assert request["status"] == "FAILED"
    assert await services.balance(account) == 100_000
    assert await corporate(services) == before
    assert await wallet_balance(money, member) == 0


async def change_outcome(money: httpx.AsyncClient, member: Any, status_url: str) -> dict[str, Any]:
    for _ in range(200):
        request = dict((await money.get(status_url, headers=member.headers)).json())
        if request["status"] != "REQUESTED":
            return request
        await asyncio.sleep(0.1)
    raise AssertionError(f"still running: {request}")


async def test_a_credit_past_the_wallet_limit_is_refunded_at_the_bank(stack: Stack) -> None:
    services, money = stack
    member, account = await member_with_account(stack, 1_000_000)
    before = await corporate(services)
    request = await change(money, member, WALLET_LIMIT + 1)
    assert request["status"] == "FAILED" and request["reason"] == "balance-limit-exceeded"
    for _ in range(50):
        if await services.balance(account) == 1_000_000:
            break
        await asyncio.sleep(0.1)
    assert await services.balance(account) == 1_000_000
    assert await corporate(services) == before


async def test_a_withdrawal_pays_out_from_the_corporate_account(stack: Stack) -> None:
    services, money = stack
    member, account = await member_with_account(stack, 50_000)
    assert (await change(money, member, 50_000))["status"] == "SUCCEEDED"
    assert (await change(money, member, 20_000, path="decrease"))["status"] == "SUCCEEDED"
    assert await services.balance(account) == 20_000
    assert await wallet_balance(money, member) == 30_000
