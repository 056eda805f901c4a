"""The bank simulator's HTTP API, in-process, against a real PostgreSQL."""

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from pay.bank.adapters.db import transfers
from pay.bank.app import create_app
from pay.bank.settings import BankSettings
from pay.contracts.bank import (
    BankAccount,
    BankFaults,
    BankTransferRequest,
    BankTransferResult,
    OpenBankAccountRequest,
    TransferStatus,
)
from pay.contracts.clients import BankClient, Conflict, NotFound, Unavailable
from pay.platform.infra import EmbeddedPostgres

from support import provision, serving

BANK = "KB"


@pytest.fixture(scope="module")
async def bank_db_url(pg: EmbeddedPostgres) -> str:
    return await provision(pg, "pay.bank", "bank_api_test")


@dataclass
class Bank:
    client: BankClient
    http: httpx.AsyncClient

    async def open(self, balance: int, *, valid: bool = True) -> BankAccount:
        number = uuid.uuid4().hex[:12]
        request = OpenBankAccountRequest(
            bank_name=BANK, bank_account_number=number, holder_name=f"Holder {number}", balance=balance, valid=valid
        )
        return await self.client.open_account(request)

    async def balance(self, account: BankAccount) -> int:
        return (await self.client.get_account(account.bank_name, account.bank_account_number)).balance

    async def transfer(
        self, source: BankAccount, destination: BankAccount, amount: int, transfer_id: str | None = None
    ) -> BankTransferResult:
        return await self.client.transfer(
            BankTransferRequest(
                transfer_id=transfer_id or str(uuid.uuid4()),
                from_bank_name=source.bank_name,
                from_bank_account_number=source.bank_account_number,
                to_bank_name=destination.bank_name,
                to_bank_account_number=destination.bank_account_number,
                amount=amount,
            )
        )


def bank_settings(database_url: str, **overrides: Any) -> BankSettings:
    return BankSettings(database_url=database_url, **overrides)


@pytest.fixture
async def bank(bank_db_url: str) -> AsyncIterator[Bank]:
    app = create_app(bank_settings(bank_db_url))
    async with serving(app) as http, BankClient("http://bank", transport=httpx.ASGITransport(app=app)) as client:
        yield Bank(client, http)


# --- accounts ------------------------------------------------------------------------------------


async def test_an_opened_account_can_be_read_back(bank: Bank) -> None:
    opened = await bank.open(7_000, valid=False)

    read = await bank.client.get_account(BANK, opened.bank_account_number)

    assert read == opened
    assert (read.balance, read.valid, read.holder_name) == (7_000, False, f"Holder {opened.bank_account_number}")


async def test_an_account_is_opened_only_once(bank: Bank) -> None:
    opened = await bank.open(1_000)
    again = OpenBankAccountRequest(
        bank_name=BANK, bank_account_number=opened.bank_account_number, holder_name="Mallory", balance=10**9
    )

    with pytest.raises(Conflict) as refused:
        await bank.client.open_account(again)

    assert (refused.value.status, refused.value.code) == (409, "account-exists")
    assert await bank.client.get_account(BANK, opened.bank_account_number) == opened


async def test_an_unknown_account_is_not_found(bank: Bank) -> None:
    with pytest.raises(NotFound) as missing:
        await bank.client.get_account(BANK, "no-such-account")

    assert missing.value.code == "account-not-found"


async def test_the_corporate_account_is_seeded_once_at_start(bank_db_url: str) -> None:
    number = uuid.uuid4().hex[:12]
    settings = bank_settings(
        bank_db_url, corporate_bank_name="PAYBANK", corporate_bank_account_number=number, corporate_seed_balance=50_000
    )
    app = create_app(settings)
    async with serving(app) as http, BankClient("http://bank", transport=httpx.ASGITransport(app=app)) as client:
        bank = Bank(client, http)
        corporate = await client.get_account("PAYBANK", number)
        assert (corporate.holder_name, corporate.balance, corporate.valid) == ("Pay Corporation", 50_000, True)
        assert (await bank.transfer(corporate, await bank.open(0), 20_000)).status is TransferStatus.SUCCEEDED

    restarted = create_app(settings)
    async with serving(restarted), BankClient("http://bank", transport=httpx.ASGITransport(app=restarted)) as client:
        assert (await client.get_account("PAYBANK", number)).balance == 30_000


# --- transfers -----------------------------------------------------------------------------------


async def test_a_transfer_moves_both_balances_and_is_stored(bank: Bank, bank_db_url: str) -> None:
    alice, bob = await bank.open(10_000), await bank.open(500)
    transfer_id = str(uuid.uuid4())

    result = await bank.transfer(alice, bob, 4_000, transfer_id)

    assert result == BankTransferResult(transfer_id=transfer_id, status=TransferStatus.SUCCEEDED)
    assert (await bank.balance(alice), await bank.balance(bob)) == (6_000, 4_500)
    assert await bank.client.get_transfer(transfer_id) == result
    engine = create_async_engine(bank_db_url)
    try:
        async with engine.connect() as connection:
            row = (await connection.execute(sa.select(transfers).where(transfers.c.transfer_id == transfer_id))).one()
    finally:
        await engine.dispose()
    assert (row.from_bank_account_number, row.to_bank_account_number, row.amount, row.status, row.reason) == (
        alice.bank_account_number,
        bob.bank_account_number,
        4_000,
        "SUCCEEDED",
        None,
    )
    assert row.created_at is not None


async def test_a_repeated_transfer_id_returns_the_first_outcome_and_moves_nothing(bank: Bank) -> None:
    alice, bob = await bank.open(10_000), await bank.open(0)
    first = await bank.transfer(alice, bob, 3_000, "repeat-me-" + uuid.uuid4().hex)

    same = await bank.transfer(alice, bob, 3_000, first.transfer_id)
    other_body = await bank.transfer(bob, alice, 1_000, first.transfer_id)

    assert first.status is TransferStatus.SUCCEEDED
    assert same == other_body == first
    assert (await bank.balance(alice), await bank.balance(bob)) == (7_000, 3_000)


async def test_a_repeat_of_a_failed_transfer_stays_failed(bank: Bank) -> None:
    alice, bob = await bank.open(100), await bank.open(0)
    first = await bank.transfer(alice, bob, 1_000)
    await bank.transfer(bob, alice, 50)  # bob has nothing; alice keeps her 100

    again = await bank.transfer(alice, bob, 100, first.transfer_id)

    assert (
        again
        == first
        == BankTransferResult(transfer_id=first.transfer_id, status=TransferStatus.FAILED, reason="insufficient-funds")
    )
    assert (await bank.balance(alice), await bank.balance(bob)) == (100, 0)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("insufficient-funds", "insufficient-funds"),
        ("unknown-source", "unknown-account"),
        ("unknown-destination", "unknown-account"),
        ("invalid-source", "invalid-account"),
        ("invalid-destination", "invalid-account"),
        ("same-account", "same-account"),
    ],
)
async def test_a_refused_transfer_fails_with_a_reason_and_moves_nothing(bank: Bank, case: str, reason: str) -> None:
    source = await bank.open(1_000, valid=case != "invalid-source")
    destination = await bank.open(1_000, valid=case != "invalid-destination")
    nowhere = BankAccount(bank_name=BANK, bank_account_number="nowhere", holder_name="-", balance=0, valid=True)
    amount = 1_001 if case == "insufficient-funds" else 500
    if case == "unknown-source":
        source = nowhere
    elif case == "unknown-destination":
        destination = nowhere
    elif case == "same-account":
        destination = source

    result = await bank.transfer(source, destination, amount)

    assert (result.status, result.reason) == (TransferStatus.FAILED, reason)
    assert await bank.client.get_transfer(result.transfer_id) == result
    for account in (source, destination):
        if account is not nowhere:
            assert await bank.balance(account) == 1_000


async def test_a_transfer_never_received_is_not_found(bank: Bank) -> None:
    with pytest.raises(NotFound) as missing:
        await bank.client.get_transfer("never-sent")

    assert missing.value.code == "transfer-not-found"


# --- fintech-use numbers -------------------------------------------------------------------------


async def test_an_account_has_one_fintech_use_number_that_names_it_in_transfers_and_balance_reads(bank: Bank) -> None:
    alice, bob = await bank.open(10_000), await bank.open(0)

    issued = await bank.client.issue_fintech_use(BANK, alice.bank_account_number)
    again = await bank.client.issue_fintech_use(BANK, alice.bank_account_number)
    other = await bank.client.issue_fintech_use(BANK, bob.bank_account_number)
    result = await bank.client.transfer(
        BankTransferRequest(
            transfer_id=str(uuid.uuid4()),
            from_fintech_use_num=issued.fintech_use_num,
            to_bank_name=BANK,
            to_bank_account_number=bob.bank_account_number,
            amount=4_000,
        )
    )

    assert issued == again and issued != other and len(issued.fintech_use_num) == 24
    assert result.status is TransferStatus.SUCCEEDED
    assert (await bank.client.account_by_fintech_use(issued.fintech_use_num)).balance == 6_000
    assert await bank.balance(bob) == 4_000


async def test_an_unknown_account_or_fintech_use_number_is_not_found_and_moves_nothing(bank: Bank) -> None:
    bob = await bank.open(0)
    with pytest.raises(NotFound) as no_account:
        await bank.client.issue_fintech_use(BANK, "no-such-account")
    with pytest.raises(NotFound) as no_number:
        await bank.client.account_by_fintech_use("9" * 24)
    unknown_source = await bank.http.post(
        "/bank/transfers",
        json={
            "transferId": "t-unknown-fintech-use",
            "fromFintechUseNum": "9" * 24,
            "toBankName": BANK,
            "toBankAccountNumber": bob.bank_account_number,
            "amount": 100,
        },
    )

    assert (no_account.value.code, no_number.value.code) == ("account-not-found", "fintech-use-not-found")
    assert (unknown_source.status_code, unknown_source.json()["code"]) == (404, "fintech-use-not-found")
    with pytest.raises(NotFound):
        await bank.client.get_transfer("t-unknown-fintech-use")
    assert await bank.balance(bob) == 0


async def test_a_statement_lists_what_moved_money_in_and_out_of_the_account_page_by_page(bank: Bank) -> None:
    account, other, third = await bank.open(10_000), await bank.open(5_000), await bank.open(0)
    out = await bank.transfer(account, other, 3_000, f"a-{uuid.uuid4()}")
    into = await bank.transfer(third, account, 1, f"b-{uuid.uuid4()}")  # refused: the third account is empty
    back = await bank.transfer(other, account, 1_000, f"c-{uuid.uuid4()}")
    await bank.transfer(other, third, 500)  # not this account's
    assert into.status is TransferStatus.FAILED

    first = (await bank.http.get(f"/bank/accounts/{BANK}/{account.bank_account_number}/statement?limit=1")).json()
    rest = await bank.http.get(
        f"/bank/accounts/{BANK}/{account.bank_account_number}/statement", params={"cursor": first["nextCursor"]}
    )

    lines = first["items"] + rest.json()["items"]
    assert [(line["transferId"], line["amount"], line["counterpartyBankAccountNumber"]) for line in lines] == [
        (out.transfer_id, -3_000, other.bank_account_number),
        (back.transfer_id, 1_000, other.bank_account_number),
    ]
    assert rest.json()["nextCursor"] is None
    assert [line.transfer_id for line in await bank.client.statement(BANK, account.bank_account_number)] == [
        out.transfer_id,
        back.transfer_id,
    ]


async def test_the_statement_of_an_unknown_account_is_not_found(bank: Bank) -> None:
    with pytest.raises(NotFound) as missing:
        await bank.client.statement(BANK, "no-such-account")

    assert missing.value.code == "account-not-found"


async def test_concurrent_opposite_transfers_neither_deadlock_nor_create_money(bank: Bank) -> None:
    alice, bob = await bank.open(5_000), await bank.open(5_000)
    draw = random.Random(20)
    orders = [(alice, bob) if n % 2 else (bob, alice) for n in range(120)]
    amounts = [draw.randint(1, 3_000) for _ in orders]

    results = await asyncio.gather(
        *(
            bank.transfer(source, destination, amount)
            for (source, destination), amount in zip(orders, amounts, strict=True)
        )
    )

    assert {(result.status, result.reason) for result in results} <= {
        (TransferStatus.SUCCEEDED, None),
        (TransferStatus.FAILED, "insufficient-funds"),
    }
    alice_gains = sum(
        amount if destination is alice else -amount
        for (_, destination), amount, result in zip(orders, amounts, results, strict=True)
        if result.status is TransferStatus.SUCCEEDED
    )
    balances = await bank.balance(alice), await bank.balance(bob)
    assert balances == (5_000 + alice_gains, 5_000 - alice_gains)
    assert min(balances) >= 0


async def test_concurrent_duplicates_of_one_transfer_move_the_money_once(bank: Bank) -> None:
    alice, bob = await bank.open(10_000), await bank.open(0)
    transfer_id = str(uuid.uuid4())

    results = await asyncio.gather(*(bank.transfer(alice, bob, 1_000, transfer_id) for _ in range(30)))

    assert {result.status for result in results} == {TransferStatus.SUCCEEDED}
    assert (await bank.balance(alice), await bank.balance(bob)) == (9_000, 1_000)


# --- fault injection -----------------------------------------------------------------------------


async def test_a_down_bank_refuses_everything_but_its_fault_switch_and_health(bank: Bank) -> None:
    alice, bob = await bank.open(1_000), await bank.open(0)

    assert await bank.client.set_faults(BankFaults(down=True)) == BankFaults(down=True)

    for method, path in [("GET", f"/bank/accounts/{BANK}/{alice.bank_account_number}"), ("GET", "/bank/transfers/x")]:
        response = await bank.http.request(method, path)
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "bank-down"
        assert response.headers["retry-after"]
    with pytest.raises(Unavailable) as refused:
        await bank.transfer(alice, bob, 100)
    assert refused.value.code == "bank-down"
    assert (await bank.http.get("/bank/faults")).json() == {"latencyMs": 0, "errorRate": 0.0, "down": True}
    for open_path in ("/health/live", "/metrics", "/openapi.json", "/docs"):
        assert (await bank.http.get(open_path)).status_code == 200, open_path

    await bank.client.set_faults(BankFaults())
    assert (await bank.balance(alice), await bank.balance(bob)) == (1_000, 0)


async def test_an_error_rate_of_one_refuses_every_request_before_processing_it(bank: Bank) -> None:
    alice, bob = await bank.open(1_000), await bank.open(0)
    transfer_id = str(uuid.uuid4())
    await bank.client.set_faults(BankFaults(error_rate=1.0))

    with pytest.raises(Unavailable) as refused:
        await bank.transfer(alice, bob, 100, transfer_id)

    assert (refused.value.status, refused.value.code) == (503, "bank-unavailable")
    await bank.client.set_faults(BankFaults())
    with pytest.raises(NotFound):
        await bank.client.get_transfer(transfer_id)
    assert (await bank.balance(alice), await bank.balance(bob)) == (1_000, 0)


async def test_latency_delays_the_answer_of_a_transfer_already_executed(bank: Bank) -> None:
    alice, bob = await bank.open(1_000), await bank.open(0)
    await bank.client.set_faults(BankFaults(latency_ms=300))

    started = time.monotonic()
    answered = await bank.transfer(alice, bob, 100)
    assert time.monotonic() - started >= 0.3
    assert answered.status is TransferStatus.SUCCEEDED

    # A caller that gives up first does not see the outcome, yet the transfer happened.
    transfer_id = str(uuid.uuid4())
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(bank.transfer(alice, bob, 200, transfer_id), timeout=0.1)
    await bank.client.set_faults(BankFaults())
    assert (await bank.client.get_transfer(transfer_id)).status is TransferStatus.SUCCEEDED
    assert (await bank.balance(alice), await bank.balance(bob)) == (700, 300)


async def test_fault_settings_are_validated(bank: Bank) -> None:
    for body in [
        {"errorRate": 1.5},
        {"errorRate": True},
        {"latencyMs": -1},
        {"latencyMs": 0.5},
        {"down": "maybe"},
        {"down": 0},
    ]:
        response = await bank.http.put("/bank/faults", json=body)
        assert response.status_code == 422, body
        assert response.json()["code"] == "validation-error"
    assert await bank.client.set_faults(BankFaults()) == BankFaults()


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 100.0},
        {"amount": 100.5},
        {"amount": "100"},
        {"amount": True},
        {"amount": 0},
        {"amount": -100},
        {"amount": 10**12 + 1},
        {"amount": None},
        {"transferId": "x" * 65},
        # An id or a bank name is a segment of the bank's URLs: `/` would split it (issue 11's fuzzing).
        {"transferId": "a/b"},
        {"fromBankName": "K/B"},
        {"toBankAccountNumber": "no spaces allowed"},
        {"fromBankName": "B" * 51},
        {"unexpected": "field"},
    ],
)
async def test_a_malformed_transfer_is_refused_and_nothing_is_written(bank: Bank, change: dict[str, Any]) -> None:
    alice, bob = await bank.open(10**13), await bank.open(0)
    body = {
        "transferId": str(uuid.uuid4()),
        "fromBankName": BANK,
        "fromBankAccountNumber": alice.bank_account_number,
        "toBankName": BANK,
        "toBankAccountNumber": bob.bank_account_number,
        "amount": 100,
    }

    response = await bank.http.post("/bank/transfers", json=body | change)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation-error"
    with pytest.raises(NotFound):
        await bank.client.get_transfer(str(body["transferId"]))
    assert (await bank.balance(alice), await bank.balance(bob)) == (10**13, 0)


async def test_a_transfer_with_a_missing_field_or_broken_json_is_refused(bank: Bank) -> None:
    missing = await bank.http.post("/bank/transfers", json={"transferId": "t-missing", "amount": 100})
    both = await bank.http.post(
        "/bank/transfers",
        json={
            "transferId": "t-both",
            "fromBankName": BANK,
            "fromBankAccountNumber": "1",
            "fromFintechUseNum": "1" * 24,
            "toBankName": BANK,
            "toBankAccountNumber": "2",
            "amount": 100,
        },
    )
    broken = await bank.http.post(
        "/bank/transfers", content=b'{"transferId": "t-broken", ', headers={"content-type": "application/json"}
    )

    for response in (missing, both, broken):
        assert response.status_code == 422
        assert response.json()["code"] == "validation-error"
    for transfer_id in ("t-missing", "t-both", "t-broken"):
        with pytest.raises(NotFound):
            await bank.client.get_transfer(transfer_id)


@pytest.mark.parametrize(
    "change",
    [
        {"balance": -1},
        {"balance": 1.5},
        {"balance": "1000"},
        {"holderName": "H" * 101},
        {"holderName": ""},
        {"bankAccountNumber": "12/34"},
        {"bankName": "K/B"},
        {"holderName": "tab\there"},
        {"bankAccountNumber": "1" * 41},
        {"valid": "yes please"},
        {"valid": 1},
    ],
)
async def test_a_malformed_account_is_refused_and_nothing_is_written(bank: Bank, change: dict[str, Any]) -> None:
    number = uuid.uuid4().hex[:12]
    body = {"bankName": BANK, "bankAccountNumber": number, "holderName": "Holder", "balance": 1_000}

    response = await bank.http.post("/bank/accounts", json=body | change)

    assert response.status_code == 422
    assert response.json()["code"] == "validation-error"
    with pytest.raises(NotFound):
        await bank.client.get_account(BANK, number)
