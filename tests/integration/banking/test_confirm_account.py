"""Confirming a bank account at the bank before money is sent to it: the bank's word, over real network hops."""

import pytest

from integration.banking.harness import Account, Services, assert_problem
from pay.contracts.banking import ConfirmedBankAccount
from pay.contracts.clients import BankingClient, NotFound, Rejected

from banking_support import BANK, HOLDER


def path_of(account: Account) -> str:
    return f"/banking/bank-account/{account.bank_name}/{account.number}"


async def test_a_usable_account_is_confirmed_with_its_holder(services: Services) -> None:
    account = await services.account(10_000)

    response = await services.banking.get(path_of(account), headers=services.admin)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "bankName": account.bank_name,
        "bankAccountNumber": account.number,
        "holderName": HOLDER,
        "valid": True,
    }


async def test_accounts_the_bank_does_not_know_or_refuses_are_not_confirmed(services: Services) -> None:
    unknown = await services.banking.get(path_of(Account(BANK, "110-no-such-account")), headers=services.admin)
    invalid = await services.banking.get(path_of(await services.account(valid=False)), headers=services.admin)

    assert_problem(unknown, 404, "bank-account-not-found")
    assert_problem(invalid, 422, "bank-account-invalid")


async def test_a_bank_that_is_down_confirms_nothing_and_says_to_retry(services: Services) -> None:
    account = await services.account()
    await services.faults(down=True)
    try:
        response = await services.banking.get(path_of(account), headers=services.admin)
    finally:
        await services.faults()

    assert_problem(response, 503, "bank-unavailable")
    assert response.headers["retry-after"]


async def test_only_admins_and_services_confirm_accounts(services: Services) -> None:
    member, account = await services.member(), await services.account()

    assert_problem(await services.banking.get(path_of(account)), 401, "unauthenticated")
    assert_problem(await services.banking.get(path_of(account), headers=member.headers), 403, "forbidden")


async def test_malformed_accounts_are_validation_problems_and_never_reach_the_bank(services: Services) -> None:
    # With the bank down, an answer other than 422 would show the bank had been asked.
    await services.faults(down=True)
    try:
        responses = [
            await services.banking.get(f"/banking/bank-account/{BANK}/{number}", headers=services.admin)
            for number in ("110%201", "110_1", "1" * 41)
        ] + [
            await services.banking.get(f"/banking/bank-account/{name}/110-1", headers=services.admin)
            for name in ("K%04B", "K" * 51)
        ]
    finally:
        await services.faults()

    for response in responses:
        assert_problem(response, 422, "validation-error")


async def test_the_client_confirms_an_account_and_raises_the_bank_s_refusals(services: Services) -> None:
    account, invalid = await services.account(), await services.account(valid=False)
    async with BankingClient(str(services.banking.base_url), token=services.admin_token, timeout=10) as client:
        confirmed = await client.bank_account(account.bank_name, account.number)
        with pytest.raises(NotFound) as unknown:
            await client.bank_account(BANK, "110-no-such-account")
        with pytest.raises(Rejected) as refused:
            await client.bank_account(invalid.bank_name, invalid.number)

    assert confirmed == ConfirmedBankAccount(
        bank_name=account.bank_name, bank_account_number=account.number, holder_name=HOLDER, valid=True
    )
    assert (unknown.value.status, unknown.value.code) == (404, "bank-account-not-found")
    assert (refused.value.status, refused.value.code) == (422, "bank-account-invalid")
