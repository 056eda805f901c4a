"""`pay reconcile` pairs every transfer on the corporate account with its ledger leg (issue 12): a remittance
whose service is killed while the bank pays it out still pays out once and pairs, and a transfer made
at the bank behind the platform's back is named. A system of its own: the second test breaks Conservation."""

import contextlib
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from e2e_support import bank_balance, member_with_bank_account, until, wallet_of

from system import RunningSystem, running_system

pytestmark = pytest.mark.e2e

CORPORATE = "/bank/accounts/PAYBANK/100-0000-0001"


@pytest.fixture(scope="module")
def own_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(tmp_path_factory.mktemp("reconcile") / "pay") as running:
        yield running


def test_a_remittance_killed_while_the_bank_pays_it_out_pays_once_and_pairs(
    own_system: RunningSystem, http: httpx.Client
) -> None:
    system, bank = own_system, own_system.url("bank")
    alice = member_with_bank_account(system, http, 100_000)
    target = f"E2E-{uuid.uuid4().hex[:10]}"
    http.post(f"{bank}/bank/accounts", json={"bankName": "KB", "bankAccountNumber": target, "holderName": "Lee"})
    recharged = http.post(
        f"{system.url('money')}/money/increase",
        json={"targetMembershipId": alice["id"], "amount": 10_000},
        headers=alice["headers"],
    )
    assert recharged.json()["status"] == "SUCCEEDED", recharged.text
    # A slow bank (yet within what banking waits): the saga holds, then waits seconds for the payout.
    assert http.put(f"{bank}/bank/faults", json={"latencyMs": 1_500}).status_code == 200
    try:
        with ThreadPoolExecutor(1) as sender:
            sending = sender.submit(
                http.post,
                f"{system.url('remittance')}/remittance/request",
                json={
                    "fromMembershipId": alice["id"],
                    "toBankName": "KB",
                    "toBankAccountNumber": target,
                    "remittanceType": "BANK",
                    "amount": 7_000,
                },
                headers=alice["headers"],
                timeout=60,
            )
            until(lambda: wallet_of(system, http, alice)["heldAmount"] == 7_000, "the amount held", 30)
            remittance = system.service_process("remittance")
            assert remittance is not None and not sending.done(), "the remittance ended before it could be killed"
            remittance.kill()
            with contextlib.suppress(httpx.HTTPError):
                sending.result()
    finally:
        http.put(f"{bank}/bank/faults", json={})
    until(lambda: b"remittance is back on port" in system.output.read_bytes(), "remittance restarted", 60)

    history = f"{system.url('remittance')}/remittance/history/{alice['id']}"
    until(
        lambda: (
            [item["status"] for item in http.get(history, headers=alice["headers"]).json()["items"]] == ["SUCCEEDED"]
        ),
        "the remittance succeeded",
    )
    assert bank_balance(system, http, target) == 7_000
    assert wallet_of(system, http, alice) == {"membershipId": alice["id"], "balance": 3_000, "heldAmount": 0}
    reconciled = system.cli("reconcile")
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    # The recharge's charge and the remittance's payout: each on the statement once, each with its leg.
    assert "2 of 2 transfers on the corporate account pair with a ledger leg" in " ".join(reconciled.stdout.split())


def test_a_transfer_made_at_the_bank_behind_the_platform_s_back_is_named(
    own_system: RunningSystem, http: httpx.Client
) -> None:
    bank = own_system.url("bank")
    corporate = http.get(f"{bank}{CORPORATE}").json()
    mallory = f"E2E-{uuid.uuid4().hex[:10]}"
    http.post(f"{bank}/bank/accounts", json={"bankName": "KB", "bankAccountNumber": mallory, "holderName": "Mallory"})
    taken = http.post(
        f"{bank}/bank/transfers",
        json={
            "transferId": f"not-the-platform-{uuid.uuid4()}",
            "fromBankName": corporate["bankName"],
            "fromBankAccountNumber": corporate["bankAccountNumber"],
            "toBankName": "KB",
            "toBankAccountNumber": mallory,
            "amount": 1_500,
        },
    ).json()
    assert taken["status"] == "SUCCEEDED"

    reconciled = own_system.cli("reconcile")

    assert reconciled.returncode == 1
    said = " ".join(reconciled.stdout.split())
    assert f"transfer {taken['transferId']} moved -1,500 won at the bank; the ledger has no leg for it" in said
    assert "Conservation breaks" in said
