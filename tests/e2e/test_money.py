"""Money through `pay up`: a wallet opens on registration, a recharge really charges the bank account,
a transfer moves money between members, a withdrawal pays out, and Conservation holds afterwards."""

import uuid

import httpx
import pytest

from e2e_support import bank_balance, member_with_bank_account, wallet_of

from system import RunningSystem

pytestmark = pytest.mark.e2e


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
    assert "0 do not balance" in " ".join(rebuild.stdout.split()), rebuild.stdout
