"""Franchise through `pay up`: a corporate member registers a franchise settled to an account the bank confirms,
reads it, changes it, and only the admin changes its fee rate."""

import uuid
from typing import Any

import httpx
import pytest

from system import RunningSystem

pytestmark = pytest.mark.e2e

PASSWORD = "hunter2-hunter2"


def login(system: RunningSystem, http: httpx.Client, email: str, password: str) -> dict[str, str]:
    answer = http.post(f"{system.url('membership')}/membership/login", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['jwtToken']}"}


def member(system: RunningSystem, http: httpx.Client, *, corporate: bool) -> dict[str, Any]:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    registered = http.post(
        f"{system.url('membership')}/membership/register",
        json={"name": "Park", "email": email, "address": "강남구", "password": PASSWORD, "isCorp": corporate},
    )
    assert registered.status_code == 201, registered.text
    return {"id": registered.json()["membershipId"], "headers": login(system, http, email, PASSWORD)}


def bank_account(system: RunningSystem, http: httpx.Client) -> str:
    number = f"E2E-{uuid.uuid4().hex[:10]}"
    opened = http.post(
        f"{system.url('bank')}/bank/accounts",
        json={"bankName": "KB", "bankAccountNumber": number, "holderName": "Park", "balance": 0},
    )
    assert opened.status_code == 201, opened.text
    return number


def test_a_corporate_member_registers_a_franchise_and_only_the_admin_changes_its_fee_rate(
    system: RunningSystem, http: httpx.Client
) -> None:
    franchise = f"{system.url('franchise')}/franchise"
    owner = member(system, http, corporate=True)
    body = {
        "ownerMembershipId": owner["id"],
        "name": "Cafe Pay",
        "contact": "02-555-0101",
        "bankName": "KB",
        "bankAccountNumber": bank_account(system, http),
        "feeRate": "3.5",
    }
    keyed = owner["headers"] | {"Idempotency-Key": str(uuid.uuid4())}
    registered = http.post(f"{franchise}/register", json=body, headers=keyed)
    assert registered.status_code == 201, registered.text
    assert http.post(f"{franchise}/register", json=body, headers=keyed).json() == registered.json()
    url = f"{franchise}/{registered.json()['franchiseId']}"
    # The webhook secret is shown when the franchise is registered (and to a retry of that), never by a read.
    shown = registered.json()
    assert shown.pop("webhookSecret").startswith("whsec_")
    assert http.get(url, headers=owner["headers"]).json() == shown
    listed = http.get(franchise, params={"ownerMembershipId": owner["id"]}, headers=owner["headers"]).json()
    assert [item["franchiseId"] for item in listed["items"]] == [registered.json()["franchiseId"]]

    moved = http.post(url, json={"bankAccountNumber": bank_account(system, http)}, headers=owner["headers"])
    assert moved.status_code == 200, moved.text
    refused = http.post(url, json={"feeRate": "1.5"}, headers=owner["headers"])
    assert (refused.status_code, refused.json()["code"]) == (403, "fee-rate-admin-only")

    admin = login(system, http, "admin@pay.local", "pay-admin-local")
    changed = http.post(url, json={"feeRate": "2.25"}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert http.get(url, headers=owner["headers"]).json()["feeRate"] == "2.25"


def test_bad_owners_and_accounts_are_refused(system: RunningSystem, http: httpx.Client) -> None:
    franchise = f"{system.url('franchise')}/franchise"
    person, corp = member(system, http, corporate=False), member(system, http, corporate=True)

    def register(owner: dict[str, Any], number: str, fee_rate: object = "3.5") -> httpx.Response:
        body = {
            "ownerMembershipId": owner["id"],
            "name": "Shop",
            "contact": "02-555-0102",
            "bankName": "KB",
            "bankAccountNumber": number,
            "feeRate": fee_rate,
        }
        return http.post(f"{franchise}/register", json=body, headers=owner["headers"])

    cases = [
        (register(person, bank_account(system, http)), 403, "not-a-corporate-member"),
        (register(corp, "NO-SUCH-ACCOUNT"), 422, "bank-account-unknown"),
        (register(corp, bank_account(system, http), 3.5), 422, "validation-error"),
    ]
    for answer, status, code in cases:
        assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert http.get(franchise, params={"ownerMembershipId": corp["id"]}, headers=corp["headers"]).json()["items"] == []
