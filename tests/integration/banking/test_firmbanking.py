"""Firm banking over HTTP: the request is stored, the bank moves the money once, and a bad bank loses nothing."""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from integration.banking.harness import SLOW_BANK_MS, Account, Services, assert_problem
from pay.banking.adapters.db import BankingUnitOfWork
from pay.banking.application import use_cases
from pay.banking.domain.masking import mask_account_number
from pay.banking.domain.model import AccountRef, FirmbankingRequest, TransferOrder
from pay.contracts.bank import TransferStatus
from pay.contracts.clients import NotFound

from banking_support import BANK, DEADLINES


async def stored_requests(services: Services) -> int:
    return await services.count_rows("firmbanking_requests")


async def assert_bank_agrees(services: Services, request: dict[str, Any]) -> None:
    """What banking reports is what the bank did: SUCCEEDED moved money there, FAILED did not."""
    try:
        at_bank = await services.bank.get_transfer(request["transferId"])
    except NotFound:
        assert request["status"] == "FAILED", request
        return
    assert at_bank.status is TransferStatus(request["status"]), (request, at_bank)


async def test_a_transfer_moves_the_money_once_and_can_be_read_back(services: Services) -> None:
    member = await services.member()
    source, destination = await services.account(100_000), await services.account()
    assert (await services.link(member, source)).status_code == 201

    response = await services.firmbanking(source, destination, 30_000)

    assert response.status_code == 200, response.text
    request = response.json()
    assert (request["status"], request["moneyAmount"], request["reason"]) == ("SUCCEEDED", 30_000, None)
    assert request["externalTransactionId"]
    assert (await services.balance(source), await services.balance(destination)) == (70_000, 30_000)
    assert (await services.bank.get_transfer(request["transferId"])).status is TransferStatus.SUCCEEDED

    path = f"/banking/firmbanking/{request['firmbankingRequestId']}"
    # The member sees the other side's account number masked; the admin who asked saw it whole.
    masked = request | {"toBankAccountNumber": mask_account_number(destination.number)}
    assert (await services.banking.get(path, headers=member.headers)).json() == masked
    listed = await services.banking.get(
        "/banking/firmbanking", params={"membershipId": member.membership_id}, headers=member.headers
    )
    assert [r["firmbankingRequestId"] for r in listed.json()] == [request["firmbankingRequestId"]]
    assert [r["transferId"] for r in await services.requests_of(destination)] == [request["transferId"]]


async def test_insufficient_funds_fail_the_request_and_move_nothing(services: Services) -> None:
    source, destination = await services.account(1_000), await services.account()

    response = await services.firmbanking(source, destination, 5_000)

    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["reason"]) == ("FAILED", "insufficient-funds")
    assert (await services.balance(source), await services.balance(destination)) == (1_000, 0)


@pytest.mark.parametrize(
    "amount", [0, -1, 1.5, 1000.0, "1000", None, True, 10**12 + 1], ids=lambda amount: repr(amount)
)
async def test_bad_amounts_are_refused_and_nothing_is_stored_or_moved(services: Services, amount: Any) -> None:
    source, destination = await services.account(10_000), await services.account()
    before = await stored_requests(services)

    response = await services.firmbanking(source, destination, amount)

    assert_problem(response, 422, "validation-error")
    assert await stored_requests(services) == before
    assert await services.balance(source) == 10_000


async def test_missing_fields_are_refused(services: Services) -> None:
    body = {"fromBankName": BANK, "fromBankAccountNumber": "110-1", "moneyAmount": 1_000}
    response = await services.banking.post("/banking/firmbanking/request", json=body, headers=services.admin)
    assert_problem(response, 422, "validation-error")


async def test_unknown_invalid_or_identical_accounts_are_refused_before_anything_is_stored(
    services: Services,
) -> None:
    source, invalid = await services.account(10_000), await services.account(valid=False)
    before = await stored_requests(services)

    assert_problem(
        await services.firmbanking(source, Account(BANK, "110-no-such"), 1_000), 404, "bank-account-not-found"
    )
    assert_problem(await services.firmbanking(source, invalid, 1_000), 422, "bank-account-invalid")
    assert_problem(await services.firmbanking(source, source, 1_000), 422, "same-account")
    assert await stored_requests(services) == before
    assert await services.balance(source) == 10_000


async def test_only_admins_and_services_move_money_and_members_read_only_their_own(services: Services) -> None:
    alice, bob = await services.member(), await services.member()
    account = await services.account(10_000)
    assert (await services.link(alice, account)).status_code == 201
    as_member = await services.firmbanking(account, await services.account(), 1_000, **alice.headers)
    assert_problem(as_member, 403, "forbidden")

    request = (await services.firmbanking(account, await services.account(), 1_000)).json()
    path = f"/banking/firmbanking/{request['firmbankingRequestId']}"
    assert (await services.banking.get(path, headers=alice.headers)).status_code == 200
    assert_problem(await services.banking.get(path, headers=bob.headers), 403, "forbidden")
    listing = {"membershipId": alice.membership_id}
    assert_problem(
        await services.banking.get("/banking/firmbanking", params=listing, headers=bob.headers), 403, "forbidden"
    )
    by_number = {"bankAccountNumber": account.number}
    assert_problem(
        await services.banking.get("/banking/firmbanking", params=by_number, headers=alice.headers), 403, "forbidden"
    )
    assert_problem(await services.banking.get("/banking/firmbanking", headers=services.admin), 422, "validation-error")
    assert_problem(
        await services.banking.get("/banking/firmbanking/no-such-request", headers=services.admin),
        404,
        "firmbanking-request-not-found",
    )


async def test_an_idempotency_key_replays_the_answer_and_moves_money_once(services: Services) -> None:
    source, destination = await services.account(10_000), await services.account()
    key = uuid.uuid4().hex

    first = await services.firmbanking(source, destination, 4_000, **{"Idempotency-Key": key})
    again = await services.firmbanking(source, destination, 4_000, **{"Idempotency-Key": key})
    other = await services.firmbanking(source, destination, 5_000, **{"Idempotency-Key": key})

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert_problem(other, 409, "idempotency-key-reuse")
    assert (await services.balance(source), await services.balance(destination)) == (6_000, 4_000)


async def test_a_failure_after_the_request_was_stored_never_frees_its_key(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, destination = await services.account(10_000), await services.account()
    key = {"Idempotency-Key": str(uuid.uuid4())}

    async def lost(*_: object) -> None:
        raise ConnectionError("the process went away after the commit, before the bank was called")

    with monkeypatch.context() as patched:
        patched.setattr(use_cases, "_attempt", lost)
        failed = await services.firmbanking(source, destination, 4_000, **key)
    again = await services.firmbanking(source, destination, 4_000, **key)

    assert failed.status_code == 500
    assert again.status_code in (200, 202) and again.headers["idempotent-replayed"] == "true"
    settled = await services.settled(again.json()["firmbankingRequestId"])
    assert settled["status"] == "SUCCEEDED", "the request's saga sends what the lost attempt never did"
    assert len(await services.requests_of(source)) == 1
    assert (await services.balance(source), await services.balance(destination)) == (6_000, 4_000)


async def test_a_retry_whose_stored_answer_was_lost_finds_the_same_transfer(services: Services) -> None:
    source, destination = await services.account(100_000), await services.account()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await services.firmbanking(source, destination, 10_000, **key)
    assert first.json()["status"] == "SUCCEEDED"
    # As after a failure between the transfer and storing its answer: the key no longer replays anything.
    engine = create_async_engine(services.banking_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.text("DELETE FROM idempotency_keys WHERE key = :key"), {"key": key["Idempotency-Key"]}
            )
    finally:
        await engine.dispose()
    again = await services.firmbanking(source, destination, 10_000, **key)
    assert again.json()["firmbankingRequestId"] == first.json()["firmbankingRequestId"]
    assert (await services.balance(source), await services.balance(destination)) == (90_000, 10_000)


async def test_a_bank_failing_a_third_of_its_calls_loses_and_doubles_nothing(services: Services) -> None:
    source, destination = await services.account(100_000), await services.account()
    await services.faults(error_rate=0.3)
    try:
        responses = await asyncio.gather(*(services.firmbanking(source, destination, 1_000) for _ in range(10)))
    finally:
        await services.faults()

    accepted = [response for response in responses if response.status_code in (200, 202)]
    for response in responses:
        if response.status_code == 202:
            assert response.json()["status"] == "REQUESTED"
            assert response.headers["location"] == f"/banking/firmbanking/{response.json()['firmbankingRequestId']}"
        elif response.status_code != 200:
            # The accounts could not be checked: refused, and nothing was stored.
            assert_problem(response, 503, "bank-unavailable")
    requests = [await services.settled(response.json()["firmbankingRequestId"]) for response in accepted]
    assert len(await services.requests_of(source)) == len(accepted)
    for request in requests:
        await assert_bank_agrees(services, request)
    moved = 1_000 * sum(request["status"] == "SUCCEEDED" for request in requests)
    assert (await services.balance(source), await services.balance(destination)) == (100_000 - moved, moved)


async def test_a_slow_or_down_bank_is_refused_cleanly_before_anything_is_stored(services: Services) -> None:
    source, destination = await services.account(10_000), await services.account()
    before = await stored_requests(services)
    for faults in ({"latency_ms": SLOW_BANK_MS}, {"down": True}):
        await services.faults(**faults)
        try:
            response = await services.firmbanking(source, destination, 1_000)
        finally:
            await services.faults()
        assert_problem(response, 503, "bank-unavailable")
        assert response.headers["retry-after"]
    assert await stored_requests(services) == before
    assert await services.balance(source) == 10_000


async def test_a_request_whose_requester_stopped_before_calling_the_bank_is_sent_by_its_saga(
    services: Services,
) -> None:
    source, destination = await services.account(10_000), await services.account()
    order = TransferOrder(
        str(uuid.uuid4()),
        AccountRef(source.bank_name, source.number),
        AccountRef(destination.bank_name, destination.number),
        4_000,
    )
    # Stored as the requester stores it before calling the bank, which it then never did (it crashed);
    # its hold is over.
    request = FirmbankingRequest.open(str(uuid.uuid4()), order, datetime.now(UTC), DEADLINES)
    request.wake_at = request.created_at
    engine = create_async_engine(services.banking_database_url)
    try:
        async with BankingUnitOfWork(engine) as uow:
            await uow.requests.claim_transfer(request)
            await uow.commit()
    finally:
        await engine.dispose()

    settled = await services.settled(request.firmbanking_request_id)

    assert settled["status"] == "SUCCEEDED"
    assert (await services.bank.get_transfer(order.transfer_id)).status is TransferStatus.SUCCEEDED
    assert (await services.balance(source), await services.balance(destination)) == (6_000, 4_000)
