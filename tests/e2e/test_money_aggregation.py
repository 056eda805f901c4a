"""Money aggregation through `pay up`: the admin sums a region's wallets from membership and money, a member may
not, and membership pages the region it reads."""

import uuid
from typing import Any

import httpx
import pytest

from e2e_support import PASSWORD, wallet_of

from system import RunningSystem

pytestmark = pytest.mark.e2e

PATH = "/money/aggregation/get-money-sum-by-address"


def resident(system: RunningSystem, http: httpx.Client, region: str, recharge: int) -> dict[str, Any]:
    """A member of the region whose wallet was recharged from its linked bank account."""
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    membership = system.url("membership")
    registered = http.post(
        f"{membership}/membership/register",
        json={"name": "Choi", "email": email, "address": region, "password": PASSWORD},
    )
    assert registered.status_code == 201, registered.text
    token = http.post(f"{membership}/membership/login", json={"email": email, "password": PASSWORD}).json()
    member = {"id": registered.json()["membershipId"], "headers": {"Authorization": f"Bearer {token['jwtToken']}"}}
    account = f"E2E-{uuid.uuid4().hex[:10]}"
    opened = http.post(
        f"{system.url('bank')}/bank/accounts",
        json={"bankName": "KB", "bankAccountNumber": account, "holderName": "Choi", "balance": recharge},
    )
    assert opened.status_code == 201, opened.text
    linked = http.post(
        f"{system.url('banking')}/banking/account/register",
        json={"membershipId": member["id"], "bankName": "KB", "bankAccountNumber": account},
        headers=member["headers"],
    )
    assert linked.status_code == 201, linked.text
    wallet_of(system, http, member)
    charged = http.post(
        f"{system.url('money')}/money/increase",
        json={"targetMembershipId": member["id"], "amount": recharge},
        headers=member["headers"],
    )
    assert charged.json()["status"] == "SUCCEEDED", charged.text
    return member


def test_the_admin_sums_a_regions_wallets_and_a_member_may_not(system: RunningSystem, http: httpx.Client) -> None:
    region = f"용산구-{uuid.uuid4().hex[:6]}"
    members = [resident(system, http, region, amount) for amount in (60_000, 25_000, 15_000)]
    admin_token = http.post(
        f"{system.url('membership')}/membership/login",
        json={"email": "admin@pay.local", "password": "pay-admin-local"},
    ).json()["jwtToken"]
    admin = {"Authorization": f"Bearer {admin_token}"}
    aggregation = f"{system.url('money-aggregation')}{PATH}"

    summed = http.post(aggregation, json={"address": region}, headers=admin)

    assert summed.status_code == 200, summed.text
    assert summed.json() == {"address": region, "moneySum": 100_000, "memberCount": 3}
    refused = http.post(aggregation, json={"address": region}, headers=members[0]["headers"])
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    too_long = http.post(aggregation, json={"address": "구" * 101}, headers=admin)
    assert too_long.status_code == 422 and too_long.json()["code"] == "validation-error"
    nowhere = http.post(aggregation, json={"address": f"nowhere-{uuid.uuid4().hex[:6]}"}, headers=admin)
    assert nowhere.json()["moneySum"] == 0 and nowhere.json()["memberCount"] == 0

    listed = f"{system.url('membership')}/membership/address/{region}"
    first = http.get(listed, params={"limit": 2}, headers=admin).json()
    second = http.get(listed, params={"limit": 2, "cursor": first["nextCursor"]}, headers=admin).json()
    assert second["nextCursor"] is None
    assert [found["membershipId"] for found in first["items"] + second["items"]] == sorted(m["id"] for m in members)
