"""`BankingClient`, the typed client other services use, against the running banking service."""

import uuid
from collections.abc import AsyncIterator

import pytest

from integration.banking.harness import Account, Services
from pay.contracts.banking import FirmbankingRequestBody, FirmbankingStatus
from pay.contracts.clients import BankingClient, Conflict, NotFound, Rejected, ServiceError, Unavailable

from banking_support import BANK


@pytest.fixture
async def client(services: Services) -> AsyncIterator[BankingClient]:
    async with BankingClient(str(services.banking.base_url), token=services.admin_token, timeout=10) as client:
        yield client


def body(source: Account, destination: Account, amount: int) -> FirmbankingRequestBody:
    return FirmbankingRequestBody(
        from_bank_name=source.bank_name,
        from_bank_account_number=source.number,
        to_bank_name=destination.bank_name,
        to_bank_account_number=destination.number,
        money_amount=amount,
    )


async def test_a_transfer_is_requested_replayed_by_its_key_and_read_back(
    services: Services, client: BankingClient
) -> None:
    source, destination = await services.account(10_000), await services.account()
    key = uuid.uuid4().hex

    request = await client.request_firmbanking(body(source, destination, 4_000), idempotency_key=key)
    replayed = await client.request_firmbanking(body(source, destination, 4_000), idempotency_key=key)
    read = await client.firmbanking(request.firmbanking_request_id)

    assert (request.status, request.money_amount, request.reason) == (FirmbankingStatus.SUCCEEDED, 4_000, None)
    assert (request.from_bank_account_number, request.to_bank_account_number) == (source.number, destination.number)
    assert replayed == read == request
    assert (await services.balance(source), await services.balance(destination)) == (6_000, 4_000)
    unkeyed = await client.request_firmbanking(body(source, destination, 1_000))
    assert unkeyed.firmbanking_request_id != request.firmbanking_request_id
    assert unkeyed.status is FirmbankingStatus.SUCCEEDED
    assert (await services.balance(source), await services.balance(destination)) == (5_000, 5_000)


def assert_refused(error: pytest.ExceptionInfo[ServiceError], kind: type[ServiceError], status: int, code: str) -> None:
    assert type(error.value) is kind
    assert (error.value.status, error.value.code) == (status, code)


async def test_banking_s_refusals_arrive_as_the_client_s_exceptions_with_their_codes(
    services: Services, client: BankingClient
) -> None:
    source, destination = await services.account(10_000), await services.account()
    key = uuid.uuid4().hex
    await client.request_firmbanking(body(source, destination, 1_000), idempotency_key=key)

    with pytest.raises(ServiceError) as reused:
        await client.request_firmbanking(body(source, destination, 2_000), idempotency_key=key)
    with pytest.raises(ServiceError) as same:
        await client.request_firmbanking(body(source, source, 1_000))
    with pytest.raises(ServiceError) as unknown_account:
        await client.request_firmbanking(body(source, Account(BANK, "110-no-such"), 1_000))
    with pytest.raises(ServiceError) as unknown_request:
        await client.firmbanking("no-such-request")
    await services.faults(down=True)
    try:
        with pytest.raises(ServiceError) as bank_down:
            await client.request_firmbanking(body(source, destination, 1_000))
    finally:
        await services.faults()
    member = await services.member()
    async with BankingClient(str(services.banking.base_url), token=member.token) as as_member:
        with pytest.raises(ServiceError) as forbidden:
            await as_member.request_firmbanking(body(source, destination, 1_000))

    assert_refused(reused, Conflict, 409, "idempotency-key-reuse")
    assert_refused(same, Rejected, 422, "same-account")
    assert_refused(unknown_account, NotFound, 404, "bank-account-not-found")
    assert_refused(unknown_request, NotFound, 404, "firmbanking-request-not-found")
    assert_refused(bank_down, Unavailable, 503, "bank-unavailable")
    assert_refused(forbidden, Rejected, 403, "forbidden")
    assert (await services.balance(source), await services.balance(destination)) == (9_000, 1_000)
