"""The bank adapter against the running simulator: timeouts resolved by asking, retries under one transfer id,
and a circuit breaker that stops calling a bank that is down; and against a scripted bank, the answers the
simulator never gives."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import REGISTRY

from integration.banking.harness import PATIENCE, SLOW_BANK_MS, open_bank_account
from pay.banking.adapters.clients import INVALID_TRANSFER, BankGateway
from pay.banking.app import bank_resilience
from pay.banking.application.ports import BankUnavailable
from pay.banking.domain.model import AccountRef, BankAccountNotFound, NotReceived, Settled, TransferOrder, Unknown
from pay.banking.settings import BankingSettings
from pay.contracts.bank import BankFaults
from pay.contracts.clients import BankClient
from pay.contracts.types import MAX_AMOUNT

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
    def exported() -> float | None:
        return REGISTRY.get_sample_value("pay_bank_breaker_open")

    transfer_id = str(uuid.uuid4())
    closed_at_first = exported()
    await bank.set_faults(BankFaults(down=True))
    try:
        refused = [await gateway.outcome_of(transfer_id) for _ in range(RESILIENCE.breaker_threshold)]
        opened = await gateway.outcome_of(transfer_id)
        exported_open = exported()
    finally:
        await bank.set_faults(BankFaults())
    still_open = await gateway.outcome_of(transfer_id)
    await asyncio.sleep(RESILIENCE.breaker_reset_seconds + 0.1)

    assert refused == [Unknown("bank-down")] * RESILIENCE.breaker_threshold
    assert opened == still_open == Unknown("the circuit to the bank is open")
    assert (closed_at_first, exported_open, exported()) == (0, 1, 1)
    assert isinstance(await gateway.outcome_of(transfer_id), NotReceived)
    assert exported() == 0


# --- answers the simulator never gives: a scripted bank behind httpx's MockTransport -------------------


class ScriptedBank:
    """Answers `POST /bank/transfers` with `transfer_status`, every lookup with `lookup_status` (404 is
    "never received"), and keeps the method and path of every request that reached it."""

    def __init__(self, transfer_status: int = 200, lookup_status: int = 404) -> None:
        self.transfer_status = transfer_status
        self.lookup_status = lookup_status
        self.calls: list[str] = []

    def gateway(self) -> BankGateway:
        client = BankClient("http://bank.test", transport=httpx.MockTransport(self._answer))
        return BankGateway(client, RESILIENCE, now)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request.method)
        status = self.transfer_status if request.method == "POST" else self.lookup_status
        if status == 200:
            transfer_id = request.url.path.rsplit("/", 1)[-1]
            return httpx.Response(200, json={"transferId": transfer_id, "status": "SUCCEEDED"})
        code = "transfer-not-found" if request.method == "GET" and status == 404 else f"status-{status}"
        problem = {"type": f"https://bank.test/{code}", "title": code, "status": status, "code": code}
        return httpx.Response(status, json=problem, headers={"content-type": "application/problem+json"})


def an_order(amount: int = 1_000, destination: str = "110-2") -> TransferOrder:
    return TransferOrder(str(uuid.uuid4()), AccountRef(BANK, "110-1"), AccountRef(BANK, destination), amount)


@pytest.mark.parametrize("status", [408, 409, 425, 429, 500, 502, 503, 504])
async def test_a_transfer_the_bank_cannot_answer_yet_is_unknown_and_asked_about_before_each_retry(
    status: int,
) -> None:
    bank = ScriptedBank(transfer_status=status)
    gateway = bank.gateway()
    order = an_order()

    answer = await gateway.transfer(order, now() + timedelta(minutes=1))

    assert isinstance(answer, Unknown)
    assert bank.calls == ["POST", "GET", "POST", "GET", "POST"], "sent again only after the bank said never received"
    bank.lookup_status = 200
    assert await gateway.outcome_of(order.transfer_id) == Settled(True, None, order.transfer_id)
    await gateway.aclose()


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_a_transfer_the_bank_refuses_outright_fails_at_once(status: int) -> None:
    bank = ScriptedBank(transfer_status=status)
    gateway = bank.gateway()

    answer = await gateway.transfer(an_order(), now() + timedelta(minutes=1))

    assert answer == Settled(False, f"refused-by-bank: status-{status}")
    assert bank.calls == ["POST"]
    await gateway.aclose()


@pytest.mark.parametrize(("status", "opens"), [(408, False), (409, False), (429, False), (400, False), (503, True)])
async def test_only_a_bank_that_fails_to_answer_opens_the_circuit(status: int, opens: bool) -> None:
    bank = ScriptedBank(lookup_status=status)
    gateway = bank.gateway()

    answers = [await gateway.outcome_of("t-1") for _ in range(RESILIENCE.breaker_threshold + 1)]

    assert all(isinstance(answer, Unknown) for answer in answers)
    circuit_open = Unknown("the circuit to the bank is open")
    assert (answers[-1] == circuit_open) is opens
    assert len(bank.calls) == RESILIENCE.breaker_threshold + (0 if opens else 1)
    await gateway.aclose()


@pytest.mark.parametrize(
    "order",
    [an_order(amount=MAX_AMOUNT + 1), an_order(amount=0), an_order(destination="110 2")],
    ids=["past-the-maximum", "zero", "malformed-account"],
)
async def test_a_malformed_transfer_never_reaches_the_bank(order: TransferOrder) -> None:
    bank = ScriptedBank()
    gateway = bank.gateway()

    assert await gateway.transfer(order, now() + timedelta(minutes=1)) == Settled(False, INVALID_TRANSFER)
    assert bank.calls == []
    await gateway.aclose()


@pytest.mark.parametrize("account", [AccountRef(BANK, "110 2"), AccountRef(BANK, ""), AccountRef("", "110-2")])
async def test_a_malformed_account_is_no_account_and_never_asked_about(account: AccountRef) -> None:
    bank = ScriptedBank()
    gateway = bank.gateway()

    with pytest.raises(BankAccountNotFound):
        await gateway.account(account)
    assert bank.calls == []
    await gateway.aclose()


async def test_account_lookups_the_bank_cannot_answer_yet_are_unavailable_not_unknown_accounts() -> None:
    bank = ScriptedBank(lookup_status=429)
    gateway = bank.gateway()

    with pytest.raises(BankUnavailable):
        await gateway.account(AccountRef(BANK, "110-1"))
    assert bank.calls == ["GET"] * RESILIENCE.retry.attempts
    await gateway.aclose()
