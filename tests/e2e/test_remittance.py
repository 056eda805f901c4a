"""Remittance through `pay up` (issue 12): to a member with the shortfall recharged from the bank, to any bank
account through a hold and a payout from the corporate account, what each caused, and Conservation after."""

import uuid

import httpx
import pytest

from e2e_support import bank_balance, member_with_bank_account, wallet_of

from system import RunningSystem

pytestmark = pytest.mark.e2e


def test_remittances_to_a_member_and_to_a_bank_account_move_real_money(
    system: RunningSystem, http: httpx.Client
) -> None:
    remittance = f"{system.url('remittance')}/remittance"
    alice = member_with_bank_account(system, http, 100_000)
    bob = member_with_bank_account(system, http, 0)
    wallet_of(system, http, alice), wallet_of(system, http, bob)

    to_bob = http.post(
        f"{remittance}/request",
        json={
            "fromMembershipId": alice["id"],
            "toMembershipId": bob["id"],
            "remittanceType": "MEMBERSHIP",
            "amount": 25_000,
        },
        headers=alice["headers"] | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert to_bob.status_code == 200, to_bob.text
    assert (to_bob.json()["status"], to_bob.json()["rechargedAmount"]) == ("SUCCEEDED", 30_000)
    assert wallet_of(system, http, alice)["balance"] == 5_000
    assert wallet_of(system, http, bob)["balance"] == 25_000
    assert bank_balance(system, http, alice["account"]) == 70_000

    target = f"E2E-{uuid.uuid4().hex[:10]}"
    http.post(
        f"{system.url('bank')}/bank/accounts",
        json={"bankName": "KB", "bankAccountNumber": target, "holderName": "Lee", "balance": 0},
    )
    to_bank = http.post(
        f"{remittance}/request",
        json={
            "fromMembershipId": bob["id"],
            "toBankName": "KB",
            "toBankAccountNumber": target,
            "remittanceType": "BANK",
            "amount": 4_000,
        },
        headers=bob["headers"],
    )
    assert to_bank.json()["status"] == "SUCCEEDED", to_bank.text
    assert bank_balance(system, http, target) == 4_000
    assert wallet_of(system, http, bob) == {"membershipId": bob["id"], "balance": 21_000, "heldAmount": 0}

    caused = http.get(
        f"{remittance}/{to_bank.json()['remittanceRequestId']}/money-transferring", headers=bob["headers"]
    ).json()
    assert [(r["changingType"], r["status"]) for r in caused["moneyChangingRequests"]] == [
        ("HOLD", "SUCCEEDED"),
        ("CAPTURE", "SUCCEEDED"),
    ]
    assert [(f["toBankAccountNumber"], f["status"]) for f in caused["firmbankingRequests"]] == [(target, "SUCCEEDED")]
    history = http.get(f"{remittance}/history/{bob['id']}", headers=bob["headers"]).json()
    assert [item["remittanceType"] for item in history["items"]] == ["BANK", "MEMBERSHIP"]

    reconciled = system.cli("reconcile")
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    # The hold remittance set and the capture that paid it out balance, though money records them apart.
    rebuilt = system.cli("money", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "0 do not balance" in " ".join(rebuilt.stdout.split()), rebuilt.stdout


def test_a_remittance_to_an_unknown_bank_account_is_refused_and_nothing_moves(
    system: RunningSystem, http: httpx.Client
) -> None:
    alice = member_with_bank_account(system, http, 50_000)
    before = wallet_of(system, http, alice)
    refused = http.post(
        f"{system.url('remittance')}/remittance/request",
        json={
            "fromMembershipId": alice["id"],
            "toBankName": "KB",
            "toBankAccountNumber": "NO-SUCH-ACCOUNT",
            "remittanceType": "BANK",
            "amount": 1_000,
        },
        headers=alice["headers"],
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "bank-account-unknown")
    assert wallet_of(system, http, alice) == before
