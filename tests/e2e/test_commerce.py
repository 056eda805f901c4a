"""Commerce through `pay up` (issue 13): a merchant registers its franchise, a member pays from its wallet and
from its bank account, gets part back, the platform settles the day, and the merchant's bank account receives
gross − fee; Conservation holds after, a refund made after settlement included."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from e2e_support import PASSWORD, bank_balance, member_with_bank_account, until, wallet_of

from system import RunningSystem

pytestmark = pytest.mark.e2e

ADMIN = {"email": "admin@pay.local", "password": "pay-admin-local"}


def merchant(system: RunningSystem, http: httpx.Client, webhook_url: str | None = None) -> dict[str, Any]:
    """A corporate member with a franchise at 3.5 %, paid into a KB account of its own; with `webhook_url`, its
    events are posted there, signed with `secret`."""
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    owner = http.post(
        f"{system.url('membership')}/membership/register",
        json={"name": "Lee Corp", "email": email, "address": "중구", "password": PASSWORD, "isCorp": True},
    ).json()
    token = http.post(
        f"{system.url('membership')}/membership/login", json={"email": email, "password": PASSWORD}
    ).json()["jwtToken"]
    account = f"E2E-{uuid.uuid4().hex[:10]}"
    http.post(
        f"{system.url('bank')}/bank/accounts",
        json={"bankName": "KB", "bankAccountNumber": account, "holderName": "Lee Corp", "balance": 0},
    )
    headers = {"Authorization": f"Bearer {token}"}
    registered = http.post(
        f"{system.url('franchise')}/franchise/register",
        json={
            "ownerMembershipId": owner["membershipId"],
            "name": "Lee's Coffee",
            "contact": "02-555-0100",
            "bankName": "KB",
            "bankAccountNumber": account,
            "feeRate": "3.5",
            "webhookUrl": webhook_url,
        },
        headers=headers,
    )
    assert registered.status_code == 201, registered.text
    franchise = registered.json()
    return {
        "id": franchise["franchiseId"],
        "headers": headers,
        "account": account,
        "secret": franchise["webhookSecret"],
    }


def pay(
    system: RunningSystem, http: httpx.Client, payer: dict[str, Any], franchise: str, price: int, method: str
) -> Any:
    paid = http.post(
        f"{system.url('payment')}/payment/request",
        json={"requestMembershipId": payer["id"], "franchiseId": franchise, "requestPrice": price, "method": method},
        headers=payer["headers"] | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert paid.status_code == 200, paid.text
    return paid.json()


def cancel(system: RunningSystem, http: httpx.Client, who: dict[str, Any], payment: dict[str, Any], amount: int) -> Any:
    """`who` asks for `amount` of the payment back, under a fresh Idempotency-Key."""
    return http.post(
        f"{system.url('payment')}/payment/{payment['paymentId']}/cancel",
        json={"amount": amount},
        headers=who["headers"] | {"Idempotency-Key": str(uuid.uuid4())},
    )


def status_of(system: RunningSystem, http: httpx.Client, payer: dict[str, Any], payment: dict[str, Any]) -> str:
    read = http.get(f"{system.url('payment')}/payment/{payment['paymentId']}", headers=payer["headers"]).json()
    return str(read["status"])


@contextmanager
def slow_bank(system: RunningSystem, http: httpx.Client) -> Iterator[None]:
    """Every bank call takes 1.5 s: a settlement line stays between payment's claim and its end that long."""
    faults = f"{system.url('bank')}/bank/faults"
    http.put(faults, json={"latencyMs": 1_500, "errorRate": 0, "down": False})
    try:
        yield
    finally:
        http.put(faults, json={"latencyMs": 0, "errorRate": 0, "down": False})


def admin_headers(system: RunningSystem, http: httpx.Client) -> dict[str, str]:
    token = http.post(f"{system.url('membership')}/membership/login", json=ADMIN).json()["jwtToken"]
    return {"Authorization": f"Bearer {token}"}


def settle_today(system: RunningSystem, http: httpx.Client, headers: dict[str, str]) -> str:
    """Starts the settlement of today's payments (every franchise's: the system is shared) and gives its id."""
    today = datetime.now(ZoneInfo("Asia/Seoul")).date().isoformat()
    started = http.post(
        f"{system.url('settlement')}/settlement/start", json={"from": today, "to": today}, headers=headers
    )
    assert started.status_code == 202, started.text
    return str(started.json()["settlementId"])


def line_of(
    system: RunningSystem, http: httpx.Client, headers: dict[str, str], settlement_id: str, franchise_id: str
) -> dict[str, Any]:
    """The franchise's line of the run, once it has ended."""

    def ended() -> dict[str, Any] | None:
        lines = http.get(f"{system.url('settlement')}/settlement/{settlement_id}", headers=headers).json()["lines"]
        line = next((line for line in lines if line["franchiseId"] == franchise_id), None)
        return line if line is not None and line["status"] != "PENDING" else None

    return until(ended, f"the line of {franchise_id} ended")


def test_a_merchant_is_paid_gross_less_fee_once_and_conservation_holds(
    system: RunningSystem, http: httpx.Client
) -> None:
    payments = f"{system.url('payment')}/payment"
    shop = merchant(system, http)
    payer = member_with_bank_account(system, http, 100_000)
    wallet_of(system, http, payer)

    by_wallet = pay(system, http, payer, shop["id"], 25_000, "WALLET")
    by_bank = pay(system, http, payer, shop["id"], 10_000, "BANK")

    assert (by_wallet["status"], by_wallet["feeRate"], by_wallet["fee"]) == ("APPROVED", "3.5", 875)
    assert (by_bank["status"], by_bank["fee"]) == ("APPROVED", 350)
    # 30,000 recharged for the wallet payment (25,000 short, rounded up) and 10,000 taken for the bank one.
    assert bank_balance(system, http, payer["account"]) == 60_000
    assert wallet_of(system, http, payer)["balance"] == 5_000

    refunded = cancel(system, http, payer, by_wallet, 5_000)
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "SUCCEEDED"
    assert wallet_of(system, http, payer)["balance"] == 10_000
    assert http.get(f"{payments}/{by_wallet['paymentId']}", headers=payer["headers"]).json()["fee"] == 700

    admin = admin_headers(system, http)
    line = line_of(system, http, admin, settle_today(system, http, admin), shop["id"])
    assert (line["status"], line["gross"], line["fee"], line["owed"], line["payout"]) == (
        "SUCCEEDED",
        30_000,
        1_050,
        0,
        28_950,
    )
    assert bank_balance(system, http, shop["account"]) == 28_950
    for payment in (by_wallet, by_bank):
        assert status_of(system, http, payer, payment) == "SETTLED"

    after = cancel(system, http, shop, by_bank, 2_000)
    assert after.json()["status"] == "SUCCEEDED", after.text
    assert after.json()["afterSettlement"] is True
    assert bank_balance(system, http, payer["account"]) == 62_000
    settle_today(system, http, admin)
    assert bank_balance(system, http, shop["account"]) == 28_950, "a settled payment is never paid twice"

    reconciled = system.cli("reconcile")
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr


def test_a_refund_asked_while_its_payment_is_being_settled_is_refused_and_nothing_is_lost(
    system: RunningSystem, http: httpx.Client
) -> None:
    shop = merchant(system, http)
    payer = member_with_bank_account(system, http, 100_000)
    wallet_of(system, http, payer)
    paid = pay(system, http, payer, shop["id"], 20_000, "WALLET")
    balance = wallet_of(system, http, payer)["balance"]
    admin = admin_headers(system, http)

    # A slow bank holds the line between payment's claim and its end: the window a refund used to slip into.
    with slow_bank(system, http):
        settlement_id = settle_today(system, http, admin)
        until(lambda: status_of(system, http, payer, paid) == "SETTLING", "the payment claimed by the run")
        refused = cancel(system, http, payer, paid, 5_000)
    assert (refused.status_code, refused.json()["code"]) == (409, "payment-being-settled"), refused.text
    assert wallet_of(system, http, payer)["balance"] == balance  # nothing given back

    line = line_of(system, http, admin, settlement_id, shop["id"])
    assert (line["status"], line["gross"], line["fee"], line["payout"]) == ("SUCCEEDED", 20_000, 700, 19_300)
    assert bank_balance(system, http, shop["account"]) == 19_300

    after = cancel(system, http, payer, paid, 5_000)
    assert (after.json()["status"], after.json()["afterSettlement"]) == ("SUCCEEDED", True), after.text
    assert wallet_of(system, http, payer)["balance"] == balance + 5_000
    reconciled = system.cli("reconcile")
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr


def test_a_refund_of_a_settled_payment_during_the_next_line_is_owed_and_nothing_is_stuck(
    system: RunningSystem, http: httpx.Client
) -> None:
    shop = merchant(system, http)
    payer = member_with_bank_account(system, http, 100_000)
    wallet_of(system, http, payer)
    admin = admin_headers(system, http)

    earlier = pay(system, http, payer, shop["id"], 20_000, "WALLET")
    assert line_of(system, http, admin, settle_today(system, http, admin), shop["id"])["payout"] == 19_300
    later = pay(system, http, payer, shop["id"], 10_000, "WALLET")

    # A slow bank holds the line between payment's claim and money's record of the payout; a refund of the
    # earlier, settled payment takes 15,000 from the payable in between, more than the later payment brought.
    with slow_bank(system, http):
        settlement_id = settle_today(system, http, admin)
        until(lambda: status_of(system, http, payer, later) == "SETTLING", "the later payment claimed by the run")
        refunded = cancel(system, http, payer, earlier, 15_000)
        assert (refunded.json()["status"], refunded.json()["afterSettlement"]) == ("SUCCEEDED", True), refunded.text

    line = line_of(system, http, admin, settlement_id, shop["id"])
    assert (line["status"], line["gross"], line["fee"], line["owed"], line["payout"]) == (
        "SUCCEEDED",
        10_000,
        350,
        0,
        9_650,
    )
    assert bank_balance(system, http, shop["account"]) == 19_300 + 9_650
    reconciled = system.cli("reconcile")
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr

    # The refund is owed: the shop's next payment pays it back before anything is paid out.
    pay(system, http, payer, shop["id"], 5_000, "WALLET")
    line = line_of(system, http, admin, settle_today(system, http, admin), shop["id"])
    assert (line["gross"], line["fee"], line["owed"], line["payout"]) == (5_000, 175, 15_000, 0)
    assert bank_balance(system, http, shop["account"]) == 19_300 + 9_650
    reconciled = system.cli("reconcile")
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
