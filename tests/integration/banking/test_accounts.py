"""Linking a member's bank account: checked with membership and with the bank, over real network hops."""

from typing import Any

from integration.banking.harness import CORPORATE_ACCOUNT, Account, Services, assert_problem
from pay.contracts.bank import OpenBankAccountRequest

from banking_support import BANK


async def linked_accounts(services: Services) -> int:
    return await services.count_rows("registered_bank_accounts")


async def test_a_member_links_its_account_and_reads_it_back(services: Services) -> None:
    member, account = await services.member(), await services.account(10_000)

    linked = await services.link(member, account)

    assert linked.status_code == 201, linked.text
    body = linked.json()
    assert set(body) == {
        "registeredBankAccountId",
        "membershipId",
        "bankName",
        "bankAccountNumber",
        "linkedStatusIsValid",
        "createdAt",
    }
    assert (body["membershipId"], body["bankName"], body["bankAccountNumber"], body["linkedStatusIsValid"]) == (
        member.membership_id,
        account.bank_name,
        account.number,
        True,
    )
    read = await services.banking.get(f"/banking/account/{member.membership_id}", headers=member.headers)
    assert read.status_code == 200 and read.json() == body


async def test_an_account_is_linked_once_and_a_member_links_one(services: Services) -> None:
    alice, bob = await services.member(), await services.member()
    account, other = await services.account(), await services.account()
    assert (await services.link(alice, account)).status_code == 201
    before = await linked_accounts(services)

    assert_problem(await services.link(alice, account), 409, "account-already-linked")
    assert_problem(await services.link(bob, account), 409, "account-already-linked")
    assert_problem(await services.link(alice, other), 409, "member-already-linked")
    assert await linked_accounts(services) == before


async def test_unknown_and_invalid_members_are_refused(services: Services) -> None:
    account = await services.account()
    before = await linked_accounts(services)
    ghost = {"membershipId": "no-such-member", "bankName": account.bank_name, "bankAccountNumber": account.number}

    unknown = await services.banking.post("/banking/account/register", json=ghost, headers=services.admin)
    invalid = await services.link(await services.member(valid=False), account, headers=services.admin)

    assert_problem(unknown, 404, "member-not-found")
    assert_problem(invalid, 422, "member-invalid")
    assert await linked_accounts(services) == before


async def test_accounts_the_bank_does_not_know_or_refuses_are_not_linked(services: Services) -> None:
    before = await linked_accounts(services)

    unknown = await services.link(await services.member(), Account(BANK, "110-no-such-account"))
    invalid = await services.link(await services.member(), await services.account(valid=False))

    assert_problem(unknown, 404, "bank-account-not-found")
    assert_problem(invalid, 422, "bank-account-invalid")
    assert await linked_accounts(services) == before


async def test_a_member_acts_only_for_itself_and_an_admin_for_anyone(services: Services) -> None:
    alice, bob = await services.member(), await services.member()

    assert_problem(await services.link(bob, await services.account(), headers=alice.headers), 403, "forbidden")
    assert_problem(
        await services.banking.get(f"/banking/account/{bob.membership_id}", headers=alice.headers), 403, "forbidden"
    )
    assert (await services.link(bob, await services.account(), headers=services.admin)).status_code == 201
    read = await services.banking.get(f"/banking/account/{bob.membership_id}", headers=services.admin)
    assert read.status_code == 200


async def test_reading_a_member_without_a_linked_account_is_not_found(services: Services) -> None:
    member = await services.member()
    response = await services.banking.get(f"/banking/account/{member.membership_id}", headers=member.headers)
    assert_problem(response, 404, "linked-account-not-found")


async def test_calls_without_a_valid_token_are_unauthenticated(services: Services) -> None:
    body = {"membershipId": "m", "bankName": BANK, "bankAccountNumber": "110-1"}
    assert_problem(await services.banking.post("/banking/account/register", json=body), 401, "unauthenticated")
    garbage = {"Authorization": "Bearer garbage"}
    assert_problem(await services.banking.get("/banking/account/m", headers=garbage), 401, "invalid-token")


async def test_malformed_links_are_validation_problems(services: Services) -> None:
    member = await services.member()
    good: dict[str, Any] = {"membershipId": member.membership_id, "bankName": BANK, "bankAccountNumber": "110-1"}
    before = await linked_accounts(services)
    changes: list[dict[str, Any]] = [
        {"bankName": None},
        {"bankAccountNumber": "no spaces allowed"},
        {"bankName": 7},
        {"extra": 1},
        # A bank name is a segment of the bank's URLs: one with a `/` would reach another URL (issue 11).
        {"bankName": "K/B"},
        {"bankName": "K\u0004B"},
    ]
    for change in changes:
        body = {key: value for key, value in (good | change).items() if value is not None}
        response = await services.banking.post("/banking/account/register", json=body, headers=member.headers)
        assert_problem(response, 422, "validation-error")
    assert await linked_accounts(services) == before


async def test_a_bank_that_is_down_links_nothing_and_says_to_retry(services: Services) -> None:
    member, account = await services.member(), await services.account()
    before = await linked_accounts(services)
    await services.faults(down=True)
    try:
        response = await services.link(member, account)
    finally:
        await services.faults()

    assert_problem(response, 503, "bank-unavailable")
    assert response.headers["retry-after"]
    assert await linked_accounts(services) == before


async def test_the_service_is_ready_and_documented(services: Services) -> None:
    ready = await services.banking.get("/health/ready")
    assert ready.json()["checks"] == {"database": "up", "broker": "up"}
    assert (await services.banking.get("/openapi.json")).json()["info"]["title"] == "Pay banking"


async def test_an_account_held_by_someone_else_is_not_linked(services: Services) -> None:
    mallory = await services.member()
    await services.bank.open_account(
        OpenBankAccountRequest(
            bank_name=BANK, bank_account_number=f"BOB-{mallory.membership_id[:8]}", holder_name="Bob"
        )
    )
    response = await services.link(mallory, Account(BANK, f"BOB-{mallory.membership_id[:8]}"))
    assert response.status_code == 422 and response.json()["code"] == "account-holder-mismatch"
    corporate = await services.link(mallory, CORPORATE_ACCOUNT)
    assert corporate.status_code == 422 and corporate.json()["code"] == "account-holder-mismatch"
    assert (await services.link(mallory, await services.account(100_000))).status_code == 201, "her own account"
