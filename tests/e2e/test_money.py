"""Money through `pay up`: a wallet opens on registration, a recharge really charges the bank account,
a transfer moves money between members, a withdrawal pays out, and Conservation holds afterwards."""

import time
import uuid
from typing import Any

import httpx
import pytest

from system import RunningSystem

pytestmark = pytest.mark.e2e

PASSWORD = "hunter2-hunter2"


def member_with_bank_account(system: RunningSystem, http: httpx.Client, bank_balance: int) -> dict[str, Any]:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    registered = http.post(
        f"{system.url('membership')}/membership/register",
        json={"name": "Kim", "email": email, "address": "강남구", "password": PASSWORD},
    ).json()
    token = http.post(
        f"{system.url('membership')}/membership/login", json={"email": email, "password": PASSWORD}
    ).json()["jwtToken"]
    account = f"E2E-{uuid.uuid4().hex[:10]}"
    opened = http.post(
        f"{system.url('bank')}/bank/accounts",
        json={"bankName": "KB", "bankAccountNumber": account, "holderName": "Kim", "balance": bank_balance},
    )
    assert opened.status_code == 201
    headers = {"Authorization": f"Bearer {token}"}
    linked = http.post(
        f"{system.url('banking')}/banking/account/register",
        json={"membershipId": registered["membershipId"], "bankName": "KB", "bankAccountNumber": account},
        headers=headers,
    )
    assert linked.status_code == 201, linked.text
    return {"id": registered["membershipId"], "headers": headers, "account": account}


def wallet_of(system: RunningSystem, http: httpx.Client, member: dict[str, Any]) -> dict[str, Any]:
    for _ in range(50):
        response = http.get(f"{system.url('money')}/money/{member['id']}", headers=member["headers"])
        if response.status_code == 200:
            return dict(response.json())
        time.sleep(0.1)
    raise AssertionError(f"no wallet for {member['id']}: {response.text}")


def bank_balance(system: RunningSystem, http: httpx.Client, account: str) -> int:
    return int(http.get(f"{system.url('bank')}/bank/accounts/KB/{account}").json()["balance"])


def test_recharge_transfer_withdraw_and_reconcile(system: RunningSystem, http: httpx.Client) -> None:
    money = system.url("money")
    alice = member_with_bank_account(system, http, 100_000)
    bob = member_with_bank_account(system, http, 0)
    # Wallets open when money hears of the registration, a moment later: both are there before money moves.
    assert wallet_of(system, http, alice)["balance"] == wallet_of(system, http, bob)["balance"] == 0

    recharge = http.post(
        f"{money}/money/increase",
        json={"targetMembershipId": alice["id"], "amount": 60_000},
        headers=alice["headers"] | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert recharge.json()["status"] == "SUCCEEDED", recharge.text
    assert bank_balance(system, http, alice["account"]) == 40_000

    too_much = http.post(
        f"{money}/money/increase", json={"targetMembershipId": alice["id"], "amount": 50_000}, headers=alice["headers"]
    )
    assert too_much.json()["status"] == "FAILED"
    assert bank_balance(system, http, alice["account"]) == 40_000

    moved = http.post(
        f"{money}/money/transfer",
        json={"fromMembershipId": alice["id"], "toMembershipId": bob["id"], "amount": 25_000},
        headers=alice["headers"],
    )
    assert moved.status_code == 200, moved.text
    assert (wallet_of(system, http, alice)["balance"], wallet_of(system, http, bob)["balance"]) == (35_000, 25_000)

    withdrawn = http.post(
        f"{money}/money/decrease", json={"targetMembershipId": bob["id"], "amount": 10_000}, headers=bob["headers"]
    )
    assert withdrawn.json()["status"] == "SUCCEEDED", withdrawn.text
    assert bank_balance(system, http, bob["account"]) == 10_000
    assert wallet_of(system, http, bob)["balance"] == 15_000

    reconcile = system.cli("reconcile")
    assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr
    assert "Conservation holds" in reconcile.stdout
    rebuild = system.cli("money", "rebuild")
    assert rebuild.returncode == 0 and "0 differ" in rebuild.stdout, rebuild.stdout + rebuild.stderr
