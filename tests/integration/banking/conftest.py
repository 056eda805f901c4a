"""Banking against real PostgreSQL and NATS, with the bank simulator, membership and banking each listening
on a real port of this host, in this event loop, so that every client crosses a real network hop.

Every module gets its own bank, membership and banking, with their own databases: the simulator's
faults and the circuit breaker's state never leak from one module into another.
"""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nats
import pytest

from integration.banking.harness import (
    Answers,
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
from pay.platform import auth
from pay.platform.infra import EmbeddedPostgres

from support import provision, settings_for


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("banking")
    auth.ensure_signing_keys(path / "keys")
    return path


@pytest.fixture(scope="module")
async def bank_url(pg: EmbeddedPostgres) -> AsyncIterator[str]:
    database_url = await provision(pg, "pay.bank", f"banking_bank_{uuid.uuid4().hex[:8]}")
    async with listening(create_bank_app(BankSettings(database_url=database_url))) as url:
        yield url


@pytest.fixture(scope="module")
async def bank(bank_url: str) -> AsyncIterator[BankClient]:
    async with BankClient(bank_url, timeout=5) as client:
        yield client
        await client.set_faults(BankFaults())


@pytest.fixture(scope="module")
async def membership_url(pg: EmbeddedPostgres, nats_url: str, data_dir: Path) -> AsyncIterator[str]:
    database_url = await provision(pg, "pay.membership", f"banking_membership_{uuid.uuid4().hex[:8]}")
    app = create_membership_app(settings_for(MembershipSettings, database_url, nats_url, data_dir))
    async with listening(app) as url:
        yield url


@pytest.fixture(scope="module")
async def services(
    pg: EmbeddedPostgres, nats_url: str, data_dir: Path, bank_url: str, bank: BankClient, membership_url: str
) -> AsyncIterator[Services]:
    database_url = await provision(pg, "pay.banking", f"banking_{uuid.uuid4().hex[:8]}")
    app = banking_app(database_url, nats_url, data_dir, bank_url, membership_url)
    async with (
        listening(app) as banking_url,
        httpx.AsyncClient(base_url=banking_url, timeout=10) as banking,
        httpx.AsyncClient(base_url=membership_url, timeout=10) as membership,
    ):
        yield Services(banking, bank, membership, data_dir, database_url)


@pytest.fixture(scope="module")
async def answers(nats_url: str) -> AsyncIterator[Answers]:
    connection = await nats.connect(nats_url)
    try:
        subscription = await connection.jetstream().pull_subscribe("pay.events.banking.>", durable=None, stream="PAY")
        yield Answers(subscription)
    finally:
        await connection.close()
