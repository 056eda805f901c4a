"""Money per region through `pay up`: a member charges its wallet and the read model's region shows it; it
moves and takes its money along; a replay of the stream gives the live model."""

import re
import uuid
from typing import Any

import httpx
import pytest

from e2e_support import PASSWORD, until

from system import RunningSystem

pytestmark = pytest.mark.e2e


def bearer(system: RunningSystem, http: httpx.Client, email: str, password: str) -> dict[str, str]:
    answer = http.post(f"{system.url('membership')}/membership/login", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['jwtToken']}"}


def member_living_at(system: RunningSystem, http: httpx.Client, address: str) -> dict[str, Any]:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    registered = http.post(
        f"{system.url('membership')}/membership/register",
        json={"name": "Lee", "email": email, "address": address, "password": PASSWORD},
    )
    assert registered.status_code == 201, registered.text
    headers = bearer(system, http, email, PASSWORD)
    account = f"E2E-{uuid.uuid4().hex[:10]}"
    opened = http.post(
        f"{system.url('bank')}/bank/accounts",
        json={"bankName": "KB", "bankAccountNumber": account, "holderName": "Lee", "balance": 100_000},
    )
    assert opened.status_code == 201, opened.text
    linked = http.post(
        f"{system.url('banking')}/banking/account/register",
        json={"membershipId": registered.json()["membershipId"], "bankName": "KB", "bankAccountNumber": account},
        headers=headers,
    )
    assert linked.status_code == 201, linked.text
    return {"id": registered.json()["membershipId"], "email": email, "headers": headers}


def test_a_member_s_charge_shows_in_its_region_and_moves_with_it(system: RunningSystem, http: httpx.Client) -> None:
    query = f"{system.url('money-query')}/money/query"
    admin = bearer(system, http, "admin@pay.local", "pay-admin-local")
    jongno, mapo = f"종로구 {uuid.uuid4().hex[:6]}", f"마포구 {uuid.uuid4().hex[:6]}"
    kim = member_living_at(system, http, jongno)

    def region(address: str) -> tuple[int, int]:
        answer = http.get(f"{query}/get-money-sum-by-address/{address}", headers=admin)
        assert answer.status_code == 200, answer.text
        return answer.json()["moneySum"], answer.json()["memberCount"]

    until(lambda: region(jongno) == (0, 1), "the registration reached the read model")
    charged = http.post(
        f"{system.url('money')}/money/increase",
        json={"targetMembershipId": kim["id"], "amount": 30_000},
        headers=kim["headers"] | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert charged.json()["status"] == "SUCCEEDED", charged.text
    until(lambda: region(jongno) == (30_000, 1), "the charge reached the region")

    modified = http.post(
        f"{system.url('membership')}/membership/modify",
        json={
            "membershipId": kim["id"],
            "name": "Lee",
            "email": kim["email"],
            "address": mapo,
            "isValid": True,
            "isCorp": False,
        },
        headers=kim["headers"],
    )
    assert modified.status_code == 200, modified.text
    until(lambda: region(mapo) == (30_000, 1), "the move reached the read model")
    assert region(jongno) == (0, 0)

    assert http.get(f"{query}/get-money-sum-by-address/{jongno}", headers=kim["headers"]).status_code == 403
    status = http.get(f"{query}/status", headers=admin).json()
    assert status["eventsApplied"] >= 4 and status["lastEventAt"] is not None
    metrics = http.get(f"{system.url('money-query')}/metrics").text
    assert "pay_money_query_lag_seconds" in metrics
    observed = re.search(r"^pay_money_query_event_to_visible_seconds_count (\S+)$", metrics, re.MULTILINE)
    assert observed is not None and float(observed.group(1)) >= 4, "each applied event's lag is observed"

    rebuilt = system.cli("query", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "the rebuilt model equals the live one" in " ".join(rebuilt.stdout.split())
