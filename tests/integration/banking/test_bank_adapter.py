"""The bank adapter against the running simulator: timeouts resolved by asking, retries under one transfer id,
and a circuit breaker that stops calling a bank that is down."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from integration.banking.harness import PATIENCE, SLOW_BANK_MS, open_bank_account
from pay.banking.adapters.clients import BankGateway
from pay.banking.app import bank_resilience
from pay.banking.domain.model import AccountRef, NotReceived, Settled, TransferOrder, Unknown
from pay.banking.settings import BankingSettings
from pay.contracts.bank import BankFaults
from pay.contracts.clients import BankClient

from banking_support import BANK

# A breaker that opens soon, so that a test sees it open.
RESILIENCE = bank_resilience(BankingSettings(**(PATIENCE | {"bank_breaker_threshold": 3})))


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
async def gateway(bank_url: str) -> AsyncIterator[BankGateway]:
    gateway = BankGateway(BankClient(bank_url, timeout=RESILIENCE.timeout_seconds), RESILIENCE, now)
    yield gateway
    await gateway.aclose()


async def open_account(bank: BankClient, balance: int) -> AccountRef:
    account = await open_bank_account(bank, balance)
    return AccountRef(account.bank_name, account.number)


async def test_a_transfer_whose_answers_time_out_is_unknown_not_failed_and_resolved_later(
    gateway: BankGateway, bank: BankClient
) -> None:
    source, destination = await open_account(bank, 10_000), await open_account(bank, 0)
    order = TransferOrder(str(uuid.uuid4()), source, destination, 3_000)
    await bank.set_faults(BankFaults(latency_ms=SLOW_BANK_MS))
    try:
        answer = await gateway.transfer(order, now() + timedelta(minutes=1))
    finally:
        await bank.set_faults(BankFaults())

    assert isinstance(answer, Unknown)
    await asyncio.sleep(SLOW_BANK_MS / 1000)
    # Sent once, asked about twice: the bank moved the money exactly once.
    assert (await bank.get_account(BANK, source.bank_account_number)).balance == 7_000
    assert await gateway.outcome_of(order.transfer_id) == Settled(True, None, order.transfer_id)


async def test_nothing_is_sent_once_the_send_window_is_over(gateway: BankGateway, bank: BankClient) -> None:
    source, destination = await open_account(bank, 10_000), await open_account(bank, 0)
    order = TransferOrder(str(uuid.uuid4()), source, destination, 3_000)

    answer = await gateway.transfer(order, now())

    assert isinstance(answer, Unknown)
    assert isinstance(await gateway.outcome_of(order.transfer_id), NotReceived)
    assert (await bank.get_account(BANK, source.bank_account_number)).balance == 10_000


async def test_the_circuit_opens_on_a_bank_that_is_down_and_closes_once_it_answers(
    gateway: BankGateway, bank: BankClient
) -> None:
    transfer_id = str(uuid.uuid4())
    await bank.set_faults(BankFaults(down=True))
    try:
        refused = [await gateway.outcome_of(transfer_id) for _ in range(RESILIENCE.breaker_threshold)]
        opened = await gateway.outcome_of(transfer_id)
    finally:
        await bank.set_faults(BankFaults())
    still_open = await gateway.outcome_of(transfer_id)
    await asyncio.sleep(RESILIENCE.breaker_reset_seconds + 0.1)

    assert refused == [Unknown("bank-down")] * RESILIENCE.breaker_threshold
    assert opened == still_open == Unknown("the circuit to the bank is open")
    assert isinstance(await gateway.outcome_of(transfer_id), NotReceived)
