"""Banking through `pay up`: a member links its bank account, and firm banking moves money at the bank simulator.

The transfer is between two members' accounts, never the corporate one: money reaching the corporate account
outside a wallet recharge would break the system's conservation check, which other tests of the session run.
"""

import uuid

import httpx
import pytest

from system import RunningSystem

pytestmark = pytest.mark.e2e


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def log_in(http: httpx.Client, system: RunningSystem, email: str, password: str) -> dict[str, str]:
    response = http.post(f"{system.url('membership')}/membership/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_banking_is_ready_and_documented(system: RunningSystem, http: httpx.Client) -> None:
    banking = system.url("banking")
    assert http.get(f"{banking}/health/ready").status_code == 200
    assert http.get(f"{banking}/openapi.json").json()["info"]["title"] == "Pay banking"


def test_a_member_links_its_account_and_firm_banking_moves_money_once(
    system: RunningSystem, http: httpx.Client
) -> None:
    membership, banking, bank = system.url("membership"), system.url("banking"), system.url("bank")
    admin = bearer(log_in(http, system, "admin@pay.local", "pay-admin-local")["jwtToken"])
    email, password = f"{uuid.uuid4().hex[:10]}@example.com", "hunter2-hunter2"
    registered = http.post(
        f"{membership}/membership/register",
        json={"name": "홍길동", "email": email, "address": "강남구", "password": password},
    )
    assert registered.status_code == 201, registered.text
    membership_id = registered.json()["membershipId"]
    member = bearer(log_in(http, system, email, password)["jwtToken"])
    number, landlord = f"110-{uuid.uuid4().hex[:8]}", f"220-{uuid.uuid4().hex[:8]}"
    for account, balance in ((number, 100_000), (landlord, 0)):
        opened = http.post(
            f"{bank}/bank/accounts",
            json={"bankName": "KB", "bankAccountNumber": account, "holderName": "홍길동", "balance": balance},
        )
        assert opened.status_code == 201, opened.text

    link = {"membershipId": membership_id, "bankName": "KB", "bankAccountNumber": number}
    linked = http.post(f"{banking}/banking/account/register", json=link, headers=member)
    assert linked.status_code == 201, linked.text
    assert http.get(f"{banking}/banking/account/{membership_id}", headers=member).json() == linked.json()
    again = http.post(f"{banking}/banking/account/register", json=link, headers=member)
    assert (again.status_code, again.json()["code"]) == (409, "account-already-linked")
    balance = f"{banking}/banking/account/{membership_id}/balance"
    seen = http.get(balance, headers=member)
    assert seen.status_code == 200, seen.text
    assert (seen.json()["balance"], seen.json()["fresh"]) == (100_000, True)

    transfer = {
        "fromBankName": "KB",
        "fromBankAccountNumber": number,
        "toBankName": "KB",
        "toBankAccountNumber": landlord,
        "moneyAmount": 30_000,
    }
    key = {"Idempotency-Key": uuid.uuid4().hex}
    as_member = http.post(f"{banking}/banking/firmbanking/request", json=transfer, headers=member)
    assert as_member.status_code == 403
    first = http.post(f"{banking}/banking/firmbanking/request", json=transfer, headers=admin | key)
    replayed = http.post(f"{banking}/banking/firmbanking/request", json=transfer, headers=admin | key)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "SUCCEEDED" and replayed.json() == first.json()

    assert http.get(f"{bank}/bank/accounts/KB/{number}").json()["balance"] == 70_000
    assert http.get(f"{bank}/bank/accounts/KB/{landlord}").json()["balance"] == 30_000
    listed = http.get(f"{banking}/banking/firmbanking", params={"membershipId": membership_id}, headers=member)
    assert [r["firmbankingRequestId"] for r in listed.json()] == [first.json()["firmbankingRequestId"]]
    # The member's own account in full, the landlord's masked.
    assert (listed.json()[0]["fromBankAccountNumber"], listed.json()[0]["toBankAccountNumber"]) == (
        number,
        f"220-****{landlord[-4:]}",
    )
    cached = http.get(balance, headers=member).json()
    refreshed = http.get(balance, params={"refresh": "true"}, headers=member).json()
    assert cached == seen.json(), "answered from the cache while fresh"
    assert (refreshed["balance"], refreshed["fresh"]) == (70_000, True)

    zero = http.post(f"{banking}/banking/firmbanking/request", json=transfer | {"moneyAmount": 0}, headers=admin)
    assert (zero.status_code, zero.json()["code"]) == (422, "validation-error")
