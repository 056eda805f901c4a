"""Issue 14's agreement: after a random mix of registrations, recharges, transfers, withdrawals and moves
between regions, the query side (a read model fed by events) and the aggregation (asking membership and
money at once) give every region the same sum, and both equal the members' wallets, once the query side
has caught up."""

import random
import uuid
from functools import partial
from typing import Any

import httpx
import pytest

from e2e_support import member_with_bank_account, until, wallet_of

from system import RunningSystem

pytestmark = pytest.mark.e2e

SEED = 14
STEPS = 40
ADMIN = {"email": "admin@pay.local", "password": "pay-admin-local"}


def test_the_query_side_and_the_aggregation_agree_on_every_region(system: RunningSystem, http: httpx.Client) -> None:
    rng = random.Random(SEED)
    run = uuid.uuid4().hex[:8]  # regions of this test only: the system is shared with other tests
    regions = [f"agree-{run}-{n}" for n in range(4)]
    admin = http.post(f"{system.url('membership')}/membership/login", json=ADMIN).json()["jwtToken"]
    admin_headers = {"Authorization": f"Bearer {admin}"}
    members: list[dict[str, Any]] = []
    money = f"{system.url('money')}/money"

    def register() -> None:
        member = member_with_bank_account(system, http, 10_000_000, address=rng.choice(regions))
        wallet_of(system, http, member)
        members.append(member)

    def change(path: str, body: dict[str, Any], member: dict[str, Any]) -> None:
        # Refusals (a balance too small for a transfer or a withdrawal) are part of the mix: they move nothing.
        answer = http.post(f"{money}/{path}", json=body, headers=member["headers"])
        assert answer.status_code < 500, answer.text

    def move(member: dict[str, Any]) -> None:
        read = http.get(f"{system.url('membership')}/membership/{member['id']}", headers=member["headers"]).json()
        member["address"] = rng.choice([region for region in regions if region != member["address"]])
        moved = http.post(
            f"{system.url('membership')}/membership/modify",
            json={key: read[key] for key in ("membershipId", "name", "email", "isValid", "isCorp")}
            | {"address": member["address"]},
            headers=member["headers"],
        )
        assert moved.status_code == 200, moved.text

    for _ in range(3):
        register()
    for _ in range(STEPS):
        member, other = rng.sample(members, 2)
        amount = rng.randrange(1, 6) * 10_000
        match rng.choice(["register", "recharge", "recharge", "transfer", "withdraw", "move"]):
            case "register":
                register()
            case "recharge":
                change("increase", {"targetMembershipId": member["id"], "amount": amount}, member)
            case "transfer":
                transfer = {"fromMembershipId": member["id"], "toMembershipId": other["id"], "amount": amount}
                change("transfer", transfer, member)
            case "withdraw":
                change("decrease", {"targetMembershipId": member["id"], "amount": amount // 2}, member)
            case "move":
                move(member)

    def sums_of(region: str) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        query = http.get(
            f"{system.url('money-query')}/money/query/get-money-sum-by-address/{region}", headers=admin_headers
        ).json()
        aggregated = http.post(
            f"{system.url('money-aggregation')}/money/aggregation/get-money-sum-by-address",
            json={"address": region},
            headers=admin_headers,
        ).json()
        living_here = [member for member in members if member["address"] == region]
        wallets = sum(wallet_of(system, http, member)["balance"] for member in living_here)
        return (
            (query["moneySum"], query["memberCount"]),
            (aggregated["moneySum"], aggregated["memberCount"]),
            (wallets, len(living_here)),
        )

    def agreeing(region: str) -> bool:
        return len(set(sums_of(region))) == 1

    for region in regions:
        until(partial(agreeing, region), f"both read sides agree on {region} with the wallets")
    assert sum(sums_of(region)[0][1] for region in regions) == len(members)
