"""What banking's integration tests drive: the running services, accounts at the bank, members, answers on the broker.

Imported as `integration.banking.harness` (the tests folder is on the path, its folders are namespace packages).
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from pay.banking.app import create_app as create_banking_app
from pay.banking.settings import BankingSettings
from pay.contracts.bank import BankFaults, OpenBankAccountRequest
from pay.contracts.clients import BankClient
from pay.platform import auth
from pay.platform.supervisor import free_port

from banking_support import BANK, CORPORATE, HOLDER
from support import settings_for, token_for

# Banking's patience with the bank (`BankingSettings`), short enough for a test run, long enough for
# in-process servers sharing one event loop.
PATIENCE: dict[str, float] = {
    "bank_timeout_seconds": 0.4,
    "bank_attempts": 3,
    "bank_retry_first_seconds": 0.05,
    "bank_retry_max_seconds": 0.2,
    "bank_retry_budget_seconds": 1.0,
    "bank_breaker_threshold": 10,
    "bank_breaker_reset_seconds": 0.5,
    "firmbanking_send_window_seconds": 3.0,
    "firmbanking_not_received_grace_seconds": 0.5,
    "firmbanking_recheck_first_seconds": 0.1,
    "firmbanking_recheck_max_seconds": 0.3,
}
SEND_WINDOW = timedelta(seconds=PATIENCE["firmbanking_send_window_seconds"])
NOT_RECEIVED_GRACE = timedelta(seconds=PATIENCE["firmbanking_not_received_grace_seconds"])
# Slower than the bank timeout, so that every call to a slowed bank times out.
SLOW_BANK_MS = 1_000


def banking_app(
    database_url: str, nats_url: str, data_dir: Path, bank_url: str, membership_url: str, **patience: float
) -> FastAPI:
    """Banking with the short timeouts, window and breaker these tests use, or the `patience` given instead."""
    settings = settings_for(
        BankingSettings,
        database_url,
        nats_url,
        data_dir,
        service_token=token_for(data_dir, "banking", auth.Role.SERVICE),
        service_urls={"bank": bank_url, "membership": membership_url},
        **(PATIENCE | patience),
    )
    return create_banking_app(settings)


@asynccontextmanager
async def listening(app: FastAPI) -> AsyncIterator[str]:
    """`app` served by uvicorn on a free port of this host, in this event loop."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
            raise RuntimeError(f"the server on port {port} stopped while starting")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Account:
    bank_name: str
    number: str


CORPORATE_ACCOUNT = Account(CORPORATE.bank_name, CORPORATE.bank_account_number)


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


async def open_bank_account(bank: BankClient, balance: int = 0, *, valid: bool = True) -> Account:
    """A new account of `HOLDER` at the bank."""
    number = f"110-{uuid.uuid4().hex[:10]}"
    await bank.open_account(
        OpenBankAccountRequest(
            bank_name=BANK, bank_account_number=number, holder_name=HOLDER, balance=balance, valid=valid
        )
    )
    return Account(BANK, number)


@dataclass(frozen=True)
class Member:
    membership_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


@dataclass
class Services:
    """The running services and what the tests do with them."""

    banking: httpx.AsyncClient
    bank: BankClient
    membership: httpx.AsyncClient
    data_dir: Path
    banking_database_url: str
    admin_token: str = field(init=False)
    admin: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.admin_token = token_for(self.data_dir, "admin", auth.Role.ADMIN)
        self.admin = bearer(self.admin_token)

    async def member(self, *, valid: bool = True) -> Member:
        email = f"{uuid.uuid4().hex[:12]}@example.com"
        body = {"name": HOLDER, "email": email, "address": "강남구", "password": "correct-horse-battery"}
        registered = await self.membership.post("/membership/register", json=body)
        assert registered.status_code == 201, registered.text
        member = dict(registered.json())
        if not valid:
            change = {key: member[key] for key in ("membershipId", "name", "email", "address", "isCorp")}
            modified = await self.membership.post(
                "/membership/modify", json=change | {"isValid": False}, headers=self.admin
            )
            assert modified.status_code == 200, modified.text
        membership_id = member["membershipId"]
        return Member(membership_id, token_for(self.data_dir, membership_id, auth.Role.MEMBER))

    async def account(self, balance: int = 0, *, valid: bool = True) -> Account:
        return await open_bank_account(self.bank, balance, valid=valid)

    async def balance(self, account: Account) -> int:
        return (await self.bank.get_account(account.bank_name, account.number)).balance

    async def faults(self, **faults: Any) -> None:
        await self.bank.set_faults(BankFaults(**faults))

    async def link(self, member: Member, account: Account, headers: dict[str, str] | None = None) -> httpx.Response:
        body = {
            "membershipId": member.membership_id,
            "bankName": account.bank_name,
            "bankAccountNumber": account.number,
        }
        return await self.banking.post("/banking/account/register", json=body, headers=headers or member.headers)

    async def firmbanking(self, source: Account, destination: Account, amount: Any, **headers: str) -> httpx.Response:
        body = {
            "fromBankName": source.bank_name,
            "fromBankAccountNumber": source.number,
            "toBankName": destination.bank_name,
            "toBankAccountNumber": destination.number,
            "moneyAmount": amount,
        }
        return await self.banking.post("/banking/firmbanking/request", json=body, headers=self.admin | headers)

    async def status_of(self, firmbanking_request_id: str) -> str:
        response = await self.banking.get(f"/banking/firmbanking/{firmbanking_request_id}", headers=self.admin)
        assert response.status_code == 200, response.text
        return str(response.json()["status"])

    async def settled(self, firmbanking_request_id: str, within: float = 15.0) -> dict[str, Any]:
        """The request once it left REQUESTED, waiting at most `within` seconds."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            response = await self.banking.get(f"/banking/firmbanking/{firmbanking_request_id}", headers=self.admin)
            assert response.status_code == 200, response.text
            if response.json()["status"] != "REQUESTED":
                return dict(response.json())
            assert asyncio.get_running_loop().time() < deadline, f"{firmbanking_request_id} is still pending"
            await asyncio.sleep(0.1)

    async def count_rows(self, table: str, where: str = "TRUE", **parameters: str) -> int:
        """How many rows of banking's `table` match `where`, straight from its database."""
        engine = create_async_engine(self.banking_database_url)
        try:
            async with engine.connect() as connection:
                statement = sa.text(f"SELECT count(*) FROM {table} WHERE {where}")
                return int((await connection.execute(statement, parameters)).scalar_one())
        finally:
            await engine.dispose()

    async def requests_of(self, account: Account) -> list[dict[str, Any]]:
        response = await self.banking.get(
            "/banking/firmbanking", params={"bankAccountNumber": account.number}, headers=self.admin
        )
        assert response.status_code == 200, response.text
        return list(response.json())


class Answers:
    """Banking's answers on the broker, read back from JetStream, de-duplicated by message id."""

    def __init__(self, subscription: Any) -> None:
        self._subscription = subscription
        self._seen: set[str] = set()
        self.by_transfer: dict[str, list[dict[str, Any]]] = {}

    async def _drain(self) -> None:
        try:
            messages = await self._subscription.fetch(100, timeout=0.2)
        except TimeoutError:  # nats raises its own subclass, or asyncio's, when nothing came
            return
        for message in messages:
            await message.ack()
            payload = json.loads(message.data)
            if payload["messageId"] not in self._seen:
                self._seen.add(payload["messageId"])
                self.by_transfer.setdefault(payload["transferId"], []).append(payload | {"subject": message.subject})

    async def of(self, transfer_id: str, count: int = 1, within: float = 15.0) -> list[dict[str, Any]]:
        """The answers about `transfer_id`, once there are at least `count` of them."""
        deadline = asyncio.get_running_loop().time() + within
        while len(self.by_transfer.get(transfer_id, [])) < count:
            assert asyncio.get_running_loop().time() < deadline, f"no {count} answers for {transfer_id}"
            await self._drain()
        return self.by_transfer[transfer_id]

    async def linger(self, seconds: float = 0.6) -> None:
        """Keep reading a while, so that an answer sent once too often is caught."""
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:
            await self._drain()

    async def exactly(self, transfer_id: str, count: int = 1) -> list[dict[str, Any]]:
        await self.of(transfer_id, count)
        await self.linger()
        answers = self.by_transfer[transfer_id]
        assert len(answers) == count, answers
        return answers
