"""Payments, refunds and settlement's claims against real PostgreSQL and NATS; the other services answer as told."""

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from pay.contracts.money import ChangingType, CreditPayable, LedgerTransactionFailed, LedgerTransactionSucceeded
from pay.contracts.payment import PaymentApproved, PaymentFailed, RefundSucceeded
from pay.payment.adapters.db import PaymentUnitOfWork
from pay.payment.domain.model import fee_for
from pay.platform.broker import Broker
from pay.platform.db import outbox
from payment_support import FakeWorld

from support import eventually, serving

Headers = dict[str, str]
Maker = Callable[..., tuple[str, Headers]]


def order(payer: str, franchise_id: str, price: int, method: str = "WALLET", **more: Any) -> dict[str, Any]:
    return {"requestMembershipId": payer, "franchiseId": franchise_id, "requestPrice": price, "method": method} | more


async def pay(client: httpx.AsyncClient, headers: Headers, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/payment/request", json=body, headers=headers)
    assert response.status_code == 200, response.text
    paid: dict[str, Any] = response.json()
    return paid


async def test_a_wallet_payment_recharges_the_shortfall_rounded_up_then_pays_at_the_franchise_s_rate(
    client: httpx.AsyncClient, world: FakeWorld, member: Maker, franchise: Maker
) -> None:
    (alice, headers), (shop, _) = member(5_000), franchise("3.5")
    paid = await pay(client, headers, order(alice, shop, 25_001, orderId="order-7"))

    assert (paid["status"], paid["feeRate"], paid["fee"], paid["orderId"]) == ("APPROVED", "3.5", 875, "order-7")
    assert paid["approvedAt"] is not None and paid["refundedAmount"] == 0
    pid = paid["paymentId"]
    assert [t for t in world.applied if t.startswith(pid)] == [f"{pid}-recharge", f"{pid}-pay"]
    assert world.commands[f"{pid}-recharge"].model_dump()["amount"] == 30_000
    assert world.balances[alice] == 5_000 + 30_000 - 25_001

    # A new rate applies to later payments, never to this one.
    world.franchises[shop].fee_rate = "10"
    assert (await client.get(f"/payment/{pid}", headers=headers)).json()["fee"] == 875


async def test_a_bank_payment_charges_the_linked_account_then_credits_the_payable(
    client: httpx.AsyncClient, world: FakeWorld, member: Maker, franchise: Maker
) -> None:
    (alice, headers), (shop, _) = member(bank_account="110-001"), franchise("1.25")
    paid = await pay(client, headers, order(alice, shop, 40_000, "BANK"))

    assert (paid["status"], paid["method"], paid["fee"]) == ("APPROVED", "BANK", 500)
    pid = paid["paymentId"]
    charge = world.transfer_commands[f"{pid}-charge"]
    assert (charge.from_bank_name, charge.from_bank_account_number, charge.money_amount) == ("SH", "110-001", 40_000)
    assert (charge.to_bank_name, charge.to_bank_account_number) == ("PAYBANK", "100-0000-0001")
    credit = world.commands[f"{pid}-credit"]
    assert isinstance(credit, CreditPayable)
    assert (credit.franchise_id, credit.amount, credit.bank_transfer_id) == (shop, 40_000, f"{pid}-charge")


async def test_a_bank_payment_the_bank_refuses_fails_with_the_bank_s_reason_and_credits_nothing(
    client: httpx.AsyncClient, world: FakeWorld, member: Maker, franchise: Maker
) -> None:
    (alice, headers), (shop, _) = member(bank_account="110-002"), franchise()
    world.bank_refusals["charge"] = "insufficient-funds: the account holds 1,200 won"
    try:
        response = await client.post("/payment/request", json=order(alice, shop, 40_000, "BANK"), headers=headers)
    finally:
        del world.bank_refusals["charge"]
    failed = response.json()
    assert (failed["status"], failed["reason"]) == ("FAILED", "insufficient-funds: the account holds 1,200 won")
    assert not [t for t in world.applied if t.startswith(failed["paymentId"])]
    cancel = await client.post(f"/payment/{failed['paymentId']}/cancel", json={}, headers=headers)
    assert (cancel.status_code, cancel.json()["code"]) == (409, "payment-failed")


async def test_a_payment_money_refuses_fails_with_money_s_reason(
    client: httpx.AsyncClient, world: FakeWorld, member: Maker, franchise: Maker
) -> None:
    (alice, headers), (shop, _) = member(50_000), franchise()
    world.refuse["PayFromWallet"] = "member-deactivated"
    try:
        failed = (await client.post("/payment/request", json=order(alice, shop, 1_000), headers=headers)).json()
    finally:
        del world.refuse["PayFromWallet"]
    assert (failed["status"], failed["reason"]) == ("FAILED", "member-deactivated")


async def test_partial_refunds_until_the_price_is_refunded_cancel_the_payment(
    client: httpx.AsyncClient, world: FakeWorld, member: Maker, franchise: Maker
) -> None:
    (alice, headers), (shop, _) = member(10_000), franchise("3.5")
    pid = (await pay(client, headers, order(alice, shop, 10_000)))["paymentId"]
    cancel = f"/payment/{pid}/cancel"

    first = await client.post(cancel, json={"amount": 3_000}, headers=headers)
    assert (first.status_code, first.json()["status"], first.json()["amount"]) == (200, "SUCCEEDED", 3_000)
    assert first.json()["afterSettlement"] is False
    after_one = (await client.get(f"/payment/{pid}", headers=headers)).json()
    assert (after_one["status"], after_one["refundedAmount"], after_one["fee"]) == ("APPROVED", 3_000, 245)

    await client.post(cancel, json={"amount": 3_000}, headers=headers)
    too_much = await client.post(cancel, json={"amount": 4_001}, headers=headers)
    assert (too_much.status_code, too_much.json()["code"]) == (409, "refund-exceeds-payment")
    rest = await client.post(cancel, json={}, headers=headers)
    assert (rest.json()["status"], rest.json()["amount"]) == ("SUCCEEDED", 4_000)

    done = (await client.get(f"/payment/{pid}", headers=headers)).json()
    assert (done["status"], done["refundedAmount"], done["fee"]) == ("CANCELLED", 10_000, 0)
    again = await client.post(cancel, json={}, headers=headers)
    assert (again.status_code, again.json()["code"]) == (409, "refund-exceeds-payment")
    listed = (await client.get(f"/payment/{pid}/refunds", headers=headers)).json()
    assert [item["amount"] for item in listed["items"]] == [3_000, 3_000, 4_000]
    assert [t for t in world.applied if t.endswith("-refund")][-3:] == [
        f"{item['refundId']}-refund" for item in listed["items"]
    ]
    assert world.balances[alice] == 10_000


async def test_a_bank_refund_pays_back_by_the_bank_and_a_refused_one_debits_nothing(
    client: httpx.AsyncClient, world: FakeWorld, member: Maker, franchise: Maker
) -> None:
    (alice, headers), (shop, _) = member(bank_account="110-003"), franchise()
    pid = (await pay(client, headers, order(alice, shop, 20_000, "BANK")))["paymentId"]

    world.bank_refusals["refund"] = "account-frozen"
    try:
        refused = (await client.post(f"/payment/{pid}/cancel", json={}, headers=headers)).json()
    finally:
        del world.bank_refusals["refund"]
    assert (refused["status"], refused["reason"]) == ("FAILED", "account-frozen")
    assert f"{refused['refundId']}-payable" not in world.applied

    # Its amount is no longer reserved: the whole price can be refunded.
    refunded = (await client.post(f"/payment/{pid}/cancel", json={}, headers=headers)).json()
    assert (refunded["status"], refunded["amount"]) == ("SUCCEEDED", 20_000)
    rid = refunded["refundId"]
    payback = world.transfer_commands[f"{rid}-refund"]
    assert (payback.from_bank_account_number, payback.to_bank_account_number) == ("100-0000-0001", "110-003")
    debit = world.commands[f"{rid}-payable"]
    assert debit.model_dump()["bank_transfer_id"] == f"{rid}-refund"
    assert (await client.get(f"/payment/{pid}", headers=headers)).json()["status"] == "CANCELLED"


async def test_concurrent_cancels_never_refund_more_than_the_price(
    client: httpx.AsyncClient, world: FakeWorld, member: Maker, franchise: Maker
) -> None:
    (alice, headers), (shop, _) = member(10_000), franchise()
    pid = (await pay(client, headers, order(alice, shop, 10_000)))["paymentId"]
    answers = await asyncio.gather(
        *(client.post(f"/payment/{pid}/cancel", json={"amount": 3_000}, headers=headers) for _ in range(10))
    )
    accepted = [answer for answer in answers if answer.status_code in (200, 202)]
    refused = [answer for answer in answers if answer not in accepted]
    assert len(accepted) == 3
    assert {(answer.status_code, answer.json()["code"]) for answer in refused} == {(409, "refund-exceeds-payment")}

    async def all_refunded() -> bool:
        found = (await client.get(f"/payment/{pid}", headers=headers)).json()
        return bool(found["refundedAmount"] == 9_000)

    await eventually(all_refunded, seconds=5)
    assert world.balances[alice] == 9_000


async def test_a_payment_interrupted_mid_saga_finishes_once_after_a_restart(
    payment_app: Callable[..., FastAPI],
    client: httpx.AsyncClient,
    world: FakeWorld,
    member: Maker,
    franchise: Maker,
    admin: Headers,
) -> None:
    (alice, headers), (shop, _) = member(0), franchise()
    keyed = headers | {"Idempotency-Key": str(uuid.uuid4())}
    body = order(alice, shop, 15_000)
    world.silent.add("PayFromWallet")
    async with serving(payment_app(payment_wait_seconds=0)) as stopping:
        started = await stopping.post("/payment/request", json=body, headers=keyed)
    assert started.status_code == 202 and started.json()["status"] == "REQUESTED"
    assert started.headers["location"] == f"/payment/{started.json()['paymentId']}"
    assert (await client.get("/payment/summary", headers=admin)).json()["unfinishedSagas"] >= 1
    assert (await client.get("/payment/summary", headers=headers)).status_code == 403
    world.silent.clear()

    # Another instance resumes the saga from its row; a retry with the key waits for its outcome.
    finished = await client.post("/payment/request", json=body, headers=keyed)
    assert finished.json()["status"] == "APPROVED", finished.text
    assert finished.headers["idempotent-replayed"] == "true"
    pid = started.json()["paymentId"]
    assert [t for t in world.applied if t.startswith(pid)] == [f"{pid}-recharge", f"{pid}-pay"]
    assert world.balances[alice] == 20_000 - 15_000


async def test_duplicate_and_late_answers_change_nothing(
    client: httpx.AsyncClient, responders: Broker, member: Maker, franchise: Maker
) -> None:
    (alice, headers), (shop, _) = member(10_000), franchise()
    pid = (await pay(client, headers, order(alice, shop, 10_000)))["paymentId"]
    refund = (await client.post(f"/payment/{pid}/cancel", json={"amount": 2_000}, headers=headers)).json()
    rid = refund["refundId"]

    success = LedgerTransactionSucceeded(
        correlation_id=rid, ledger_transaction_id=f"{rid}-refund", kind=ChangingType.REFUND
    )
    for message in (
        success,
        success,  # the same delivery again
        LedgerTransactionSucceeded(correlation_id=rid, ledger_transaction_id=f"{rid}-refund", kind=ChangingType.REFUND),
        LedgerTransactionFailed(
            correlation_id=pid, ledger_transaction_id=f"{pid}-pay", kind=ChangingType.PAYMENT, reason="late"
        ),
    ):
        await responders.publish_message(message)
    # A marker after them: its effect shows when the copies before it were handled.
    marker = (await client.post(f"/payment/{pid}/cancel", json={"amount": 1_000}, headers=headers)).json()
    assert marker["status"] == "SUCCEEDED"
    found = (await client.get(f"/payment/{pid}", headers=headers)).json()
    assert (found["status"], found["refundedAmount"], found["reason"]) == ("APPROVED", 3_000, None)


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"requestPrice": 0}, 422, "validation-error"),
        ({"requestPrice": 100.5}, 422, "validation-error"),
        ({"requestPrice": "100"}, 422, "validation-error"),
        ({"requestPrice": 10**12 + 1}, 422, "validation-error"),
        ({"method": "CASH"}, 422, "validation-error"),
        ({"orderId": "x" * 101}, 422, "validation-error"),
        ({"feeRate": "0"}, 422, "validation-error"),
        ({"franchiseId": "nowhere"}, 404, "franchise-not-found"),
        ({"method": "BANK"}, 422, "no-linked-account"),
    ],
)
async def test_bad_payments_are_refused_and_nothing_is_recorded_or_sent(
    client: httpx.AsyncClient,
    world: FakeWorld,
    member: Maker,
    franchise: Maker,
    admin: Headers,
    change: dict[str, Any],
    status: int,
    code: str,
) -> None:
    (alice, headers), (shop, _) = member(10**9), franchise()
    applied, transfers = len(world.applied), len(world.transfers)
    response = await client.post("/payment/request", json=order(alice, shop, 1_000) | change, headers=headers)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert (len(world.applied), len(world.transfers)) == (applied, transfers)
    assert (await client.get("/payment/normal-status", params={"franchiseId": shop}, headers=admin)).json()[
        "items"
    ] == []


async def test_the_payer_and_the_franchise_are_checked(
    client: httpx.AsyncClient, world: FakeWorld, member: Maker, franchise: Maker, admin: Headers
) -> None:
    (alice, headers), (bob, _), (carol, _) = member(10_000), member(10_000), member(10_000)
    (shop, _), (closed, _) = franchise(), franchise(valid=False)
    world.invalid_members.add(carol)
    cases = [
        (order(bob, shop, 1_000), headers, 403, "forbidden"),
        (order(alice, closed, 1_000), headers, 422, "franchise-invalid"),
        (order(carol, shop, 1_000), admin, 422, "payer-invalid"),
        (order("nobody", shop, 1_000), admin, 404, "payer-not-found"),
    ]
    for body, caller, status, code in cases:
        response = await client.post("/payment/request", json=body, headers=caller)
        assert (response.status_code, response.json()["code"]) == (status, code), (body, response.text)
    # An admin pays for anyone.
    assert (await pay(client, admin, order(bob, shop, 1_000)))["status"] == "APPROVED"


@pytest.mark.parametrize("service", ["banking", "franchise", "membership"])
async def test_a_service_that_does_not_answer_is_503_and_nothing_is_recorded(
    client: httpx.AsyncClient,
    world: FakeWorld,
    member: Maker,
    franchise: Maker,
    admin: Headers,
    service: str,
) -> None:
    (alice, headers), (shop, _) = member(bank_account="110-004"), franchise()
    world.down.add(service)
    try:
        response = await client.post("/payment/request", json=order(alice, shop, 1_000, "BANK"), headers=headers)
    finally:
        world.down.discard(service)
    assert (response.status_code, response.json()["code"]) == (503, "downstream-unavailable")
    assert response.headers["retry-after"] == "2"
    listed = await client.get("/payment/normal-status", params={"franchiseId": shop}, headers=admin)
    assert listed.json()["items"] == []


async def test_the_same_key_answers_the_same_payment_and_another_body_is_refused(
    client: httpx.AsyncClient, world: FakeWorld, member: Maker, franchise: Maker
) -> None:
    (alice, headers), (shop, _) = member(100_000), franchise()
    keyed = headers | {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post("/payment/request", json=order(alice, shop, 1_000), headers=keyed)
    again = await client.post("/payment/request", json=order(alice, shop, 1_000), headers=keyed)
    other = await client.post("/payment/request", json=order(alice, shop, 2_000), headers=keyed)

    assert again.json()["paymentId"] == first.json()["paymentId"]
    assert again.headers["idempotent-replayed"] == "true"
    assert (other.status_code, other.json()["code"]) == (409, "idempotency-key-reuse")
    pid = first.json()["paymentId"]
    assert [t for t in world.applied if t.startswith(pid)] == [f"{pid}-pay"]

    cancel_key = headers | {"Idempotency-Key": str(uuid.uuid4())}
    refund = await client.post(f"/payment/{pid}/cancel", json={"amount": 100}, headers=cancel_key)
    repeat = await client.post(f"/payment/{pid}/cancel", json={"amount": 100}, headers=cancel_key)
    changed = await client.post(f"/payment/{pid}/cancel", json={"amount": 200}, headers=cancel_key)
    assert repeat.json()["refundId"] == refund.json()["refundId"]
    assert (changed.status_code, changed.json()["code"]) == (409, "idempotency-key-reuse")
    assert (await client.get(f"/payment/{pid}", headers=headers)).json()["refundedAmount"] == 100


async def test_only_the_payer_the_owner_and_admins_see_or_cancel_a_payment(
    client: httpx.AsyncClient, member: Maker, franchise: Maker, admin: Headers
) -> None:
    (alice, headers), (_, stranger), (shop, owner) = member(10_000), member(), franchise()
    (other_shop, _) = franchise()
    pid = (await pay(client, headers, order(alice, shop, 5_000)))["paymentId"]

    assert (await client.get(f"/payment/{pid}", headers=owner)).status_code == 200
    assert (await client.get(f"/payment/{pid}", headers=admin)).status_code == 200
    for url in (f"/payment/{pid}", f"/payment/{pid}/refunds"):
        answer = await client.get(url, headers=stranger)
        assert (answer.status_code, answer.json()["code"]) == (404, "payment-not-found")
    stolen = await client.post(f"/payment/{pid}/cancel", json={}, headers=stranger)
    assert (stolen.status_code, stolen.json()["code"]) == (404, "payment-not-found")
    by_owner = await client.post(f"/payment/{pid}/cancel", json={"amount": 1_000}, headers=owner)
    assert by_owner.json()["status"] == "SUCCEEDED"
    by_admin = await client.post(f"/payment/{pid}/cancel", json={"amount": 1_000}, headers=admin)
    assert by_admin.json()["status"] == "SUCCEEDED"

    period = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
    mine = await client.get("/payment/period", params=period | {"franchiseId": shop}, headers=owner)
    assert [item["paymentId"] for item in mine.json()["items"]] == [pid]
    for params in (period | {"franchiseId": other_shop}, period):
        assert (await client.get("/payment/period", params=params, headers=owner)).status_code == 403
    assert (await client.get("/payment/normal-status", params={"franchiseId": shop}, headers=owner)).status_code == 200
    assert (
        await client.get("/payment/normal-status", params={"franchiseId": shop}, headers=stranger)
    ).status_code == 403
    assert (await client.get("/payment/owed-refunds", headers=owner)).status_code == 403
    line = {"settlementId": "s-x", "franchiseId": shop}
    claim = line | {"since": "2000-01-01T00:00:00Z", "until": "2000-01-02T00:00:00Z"}
    for url, body in (
        ("/payment/settlement/claim", claim),
        ("/payment/finish-settlement", line),
        ("/payment/settlement/release", line),
    ):
        assert (await client.post(url, json=body, headers=owner)).status_code == 403, url
    assert (await client.get("/payment/settlement/s-x/payments", headers=owner)).status_code == 403


async def test_a_period_is_read_by_approval_time_and_must_not_be_reversed(
    client: httpx.AsyncClient, member: Maker, franchise: Maker, admin: Headers
) -> None:
    (alice, headers), (shop, _) = member(100_000), franchise()
    ids = [(await pay(client, headers, order(alice, shop, price)))["paymentId"] for price in (1_000, 2_000, 3_000)]
    approved = [(await client.get(f"/payment/{pid}", headers=admin)).json()["approvedAt"] for pid in ids]

    window = {"from": approved[1], "to": "2100-01-01T00:00:00Z", "franchiseId": shop, "limit": 1}
    first = (await client.get("/payment/period", params=window, headers=admin)).json()
    rest = (await client.get("/payment/period", params=window | {"cursor": first["nextCursor"]}, headers=admin)).json()
    assert [item["paymentId"] for item in first["items"] + rest["items"]] == ids[1:]
    assert rest["nextCursor"] is None
    only_first = {"from": approved[0], "to": approved[1], "franchiseId": shop}
    assert [
        i["paymentId"] for i in (await client.get("/payment/period", params=only_first, headers=admin)).json()["items"]
    ] == ids[:1]

    reversed_period = {"from": "2026-12-03T00:00:00Z", "to": "2026-12-02T00:00:00Z", "franchiseId": shop}
    answer = await client.get("/payment/period", params=reversed_period, headers=admin)
    assert (answer.status_code, answer.json()["code"]) == (422, "period-reversed")
    no_offset = await client.get("/payment/period", params={"from": "2026-12-01", "to": "2026-12-02"}, headers=admin)
    assert no_offset.status_code == 422


async def claim(
    client: httpx.AsyncClient, service: Headers, settlement_id: str, since: str, until: str = "2100-01-01T00:00:00Z"
) -> dict[str, dict[str, Any]]:
    """Payment's answer to the settlement's claim, by franchise."""
    body = {"settlementId": settlement_id, "since": since, "until": until}
    answer = await client.post("/payment/settlement/claim", json=body, headers=service)
    assert answer.status_code == 200, answer.text
    assert answer.json()["settlementId"] == settlement_id
    return {line["franchiseId"]: line for line in answer.json()["franchises"]}


async def line_call(
    client: httpx.AsyncClient, service: Headers, url: str, settlement_id: str, franchise_id: str
) -> httpx.Response:
    return await client.post(url, json={"settlementId": settlement_id, "franchiseId": franchise_id}, headers=service)


async def approved_at(client: httpx.AsyncClient, service: Headers, payment_id: str) -> str:
    return str((await client.get(f"/payment/{payment_id}", headers=service)).json()["approvedAt"])


async def test_a_claim_sums_the_domain_s_fees_per_franchise_and_is_answered_again_the_same(
    client: httpx.AsyncClient, member: Maker, franchise: Maker, service: Headers
) -> None:
    (alice, headers), (shop, _), (cafe, _) = member(1_000_000), franchise("3.5"), franchise("0.5")
    paid = [
        await pay(client, headers, order(alice, shop_id, price))
        for shop_id, price in ((shop, 10_001), (shop, 333), (shop, 20_000), (cafe, 300), (cafe, 99))
    ]
    refunded = await client.post(f"/payment/{paid[2]['paymentId']}/cancel", json={"amount": 7_777}, headers=headers)
    assert refunded.json()["status"] == "SUCCEEDED"
    since = await approved_at(client, service, paid[0]["paymentId"])
    read = [(await client.get(f"/payment/{p['paymentId']}", headers=headers)).json() for p in paid]

    claimed = await claim(client, service, "s-sums", since)

    for franchise_id, mine in ((shop, read[:3]), (cafe, read[3:])):
        line = claimed[franchise_id]
        assert (line["gross"], line["fee"], line["paymentCount"], line["owed"], line["status"]) == (
            sum(p["requestPrice"] - p["refundedAmount"] for p in mine),
            sum(fee_for(p["requestPrice"] - p["refundedAmount"], Decimal(p["feeRate"])) for p in mine),
            len(mine),
            0,
            "CLAIMED",
        )
    assert claimed[shop]["fee"] == 350 + 12 + 428 and claimed[cafe]["fee"] == 2 + 0
    assert set(claimed) == {shop, cafe}
    assert await claim(client, service, "s-sums", since) == claimed  # asked again: the same, nothing more
    assert await claim(client, service, "s-other", since) == {}  # another run finds them taken
    being_settled = (await client.get(f"/payment/{paid[0]['paymentId']}", headers=headers)).json()
    assert (being_settled["status"], being_settled["settlementId"]) == ("SETTLING", "s-sums")
    unsettled = (await client.get("/payment/normal-status", params={"franchiseId": shop}, headers=service)).json()
    assert unsettled["items"] == []

    listed: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/payment/settlement/s-sums/payments", params=params, headers=service)).json()
        listed += [item["paymentId"] for item in page["items"]]
        if (cursor := page["nextCursor"]) is None:
            break
    assert sorted(listed) == sorted(p["paymentId"] for p in paid) and len(listed) == 5


async def test_a_payment_being_settled_is_not_refunded_and_once_settled_its_refund_is_deducted_by_the_next_line(
    client: httpx.AsyncClient, world: FakeWorld, member: Maker, franchise: Maker, service: Headers
) -> None:
    (alice, headers), (shop, _) = member(100_000), franchise("3.5")
    first = (await pay(client, headers, order(alice, shop, 10_000)))["paymentId"]
    since = await approved_at(client, service, first)
    assert (await claim(client, service, "s-race", since))[shop]["gross"] == 10_000
    balance = world.balances[alice]

    refused = await client.post(f"/payment/{first}/cancel", json={"amount": 4_000}, headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (409, "payment-being-settled"), refused.text
    assert refused.headers["retry-after"]
    assert world.balances[alice] == balance  # nothing moved
    assert (await client.get(f"/payment/{first}/refunds", headers=headers)).json()["items"] == []

    done = await line_call(client, service, "/payment/finish-settlement", "s-race", shop)
    assert (done.status_code, done.json()["status"]) == (200, "SETTLED"), done.text
    assert (await line_call(client, service, "/payment/finish-settlement", "s-race", shop)).json() == done.json()
    settled = (await client.get(f"/payment/{first}", headers=headers)).json()
    assert (settled["status"], settled["settlementId"]) == ("SETTLED", "s-race") and settled["settledAt"]
    released = await line_call(client, service, "/payment/settlement/release", "s-race", shop)
    assert (released.status_code, released.json()["code"]) == (409, "settlement-line-settled")

    # After the line, the refund goes through; the franchise owes it, and its next line deducts it, once.
    refund = (await client.post(f"/payment/{first}/cancel", json={"amount": 4_000}, headers=headers)).json()
    assert (refund["status"], refund["afterSettlement"]) == ("SUCCEEDED", True)
    owed = (await client.get("/payment/owed-refunds", params={"franchiseId": shop}, headers=service)).json()
    assert [item["refundId"] for item in owed["items"]] == [refund["refundId"]]
    second = (await pay(client, headers, order(alice, shop, 5_000)))["paymentId"]
    next_line = (await claim(client, service, "s-next", await approved_at(client, service, second)))[shop]
    assert (next_line["gross"], next_line["fee"], next_line["owed"], next_line["paymentCount"]) == (
        5_000,
        175,
        4_000,
        1,
    )
    owed = (await client.get("/payment/owed-refunds", params={"franchiseId": shop}, headers=service)).json()
    assert owed["items"] == []  # claimed: no other run deducts it
    await line_call(client, service, "/payment/finish-settlement", "s-next", shop)
    listed = (await client.get(f"/payment/{first}/refunds", headers=headers)).json()["items"]
    assert listed[0]["deductedBySettlementId"] == "s-next"
    missing = await line_call(client, service, "/payment/finish-settlement", "s-nothing", shop)
    assert (missing.status_code, missing.json()["code"]) == (404, "settlement-line-not-found")


async def test_a_released_line_gives_its_payments_back_for_another_run(
    client: httpx.AsyncClient, member: Maker, franchise: Maker, service: Headers
) -> None:
    (alice, headers), (shop, _) = member(100_000), franchise("3.5")
    pid = (await pay(client, headers, order(alice, shop, 10_000)))["paymentId"]
    since = await approved_at(client, service, pid)
    assert (await claim(client, service, "s-fails", since))[shop]["paymentCount"] == 1

    released = await line_call(client, service, "/payment/settlement/release", "s-fails", shop)
    assert (released.status_code, released.json()["status"]) == (200, "RELEASED"), released.text
    assert (await line_call(client, service, "/payment/settlement/release", "s-fails", shop)).json() == released.json()
    back = (await client.get(f"/payment/{pid}", headers=headers)).json()
    assert (back["status"], back["settlementId"]) == ("APPROVED", None)
    finished = await line_call(client, service, "/payment/finish-settlement", "s-fails", shop)
    assert (finished.status_code, finished.json()["code"]) == (409, "settlement-line-released")
    listed = await client.get("/payment/settlement/s-fails/payments", headers=service)
    assert listed.json()["items"] == []

    # A refund now is an ordinary one; the next run settles what is left.
    refund = (await client.post(f"/payment/{pid}/cancel", json={"amount": 1_000}, headers=headers)).json()
    assert (refund["status"], refund["afterSettlement"]) == ("SUCCEEDED", False)
    again = (await claim(client, service, "s-retry", since))[shop]
    assert (again["gross"], again["fee"], again["paymentCount"]) == (9_000, 315, 1)


async def test_concurrent_overlapping_claims_never_claim_a_payment_twice(
    client: httpx.AsyncClient, member: Maker, franchise: Maker, service: Headers, database_url: str
) -> None:
    (alice, headers), shops = member(1_000_000), [franchise("3")[0] for _ in range(3)]
    ids = [(await pay(client, headers, order(alice, shops[n % 3], 1_000 + n)))["paymentId"] for n in range(12)]
    times = [await approved_at(client, service, pid) for pid in ids]
    since, middle = datetime.fromisoformat(times[0]), datetime.fromisoformat(times[6])
    until = datetime.fromisoformat(times[-1]) + timedelta(seconds=1)
    engine = create_async_engine(database_url)
    try:
        # The first claim holds its rows; the second, over an overlapping period, waits for it, then re-checks
        # each row as the first left it and finds it taken.
        async with PaymentUnitOfWork(engine) as first, PaymentUnitOfWork(engine) as second:
            one = await first.settlement_claims.claim("s-con-1", since, middle, datetime.now(UTC))
            racing = asyncio.create_task(second.settlement_claims.claim("s-con-2", since, until, datetime.now(UTC)))
            await asyncio.sleep(0.3)
            assert not racing.done()
            await first.commit()
            two = await racing
            await second.commit()
    finally:
        await engine.dispose()
    assert sum(line.payment_count for line in one) == 6 and sum(line.payment_count for line in two) == 6

    # Over HTTP, at once: every payment is claimed by exactly one of the runs.
    more = [(await pay(client, headers, order(alice, shops[n % 3], 2_000 + n)))["paymentId"] for n in range(12)]
    start = await approved_at(client, service, more[0])
    answers = await asyncio.gather(*(claim(client, service, f"s-both-{n}", start) for n in range(4)))
    assert sum(line["paymentCount"] for answer in answers for line in answer.values()) == 12
    holders = {(await client.get(f"/payment/{pid}", headers=headers)).json()["settlementId"] for pid in more}
    assert holders <= {f"s-both-{n}" for n in range(4)} and None not in holders


async def test_the_openapi_document_lists_every_route_and_its_refusals(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    assert {
        "/payment/request",
        "/payment/finish-settlement",
        "/payment/settlement/claim",
        "/payment/settlement/release",
        "/payment/settlement/{settlement_id}/payments",
        "/payment/period",
        "/payment/normal-status",
        "/payment/owed-refunds",
        "/payment/{payment_id}",
        "/payment/{payment_id}/cancel",
        "/payment/{payment_id}/refunds",
    } <= set(paths)
    assert "409" in paths["/payment/{payment_id}/cancel"]["post"]["responses"]
    assert "503" in paths["/payment/request"]["post"]["responses"]


async def test_unusable_ids_are_refused_not_failed_on(client: httpx.AsyncClient, admin: Headers) -> None:
    for franchise_id in ("a\x00b", "a/b", "x" * 65):
        answer = await client.get("/payment/normal-status", params={"franchiseId": franchise_id}, headers=admin)
        assert answer.status_code in (400, 422), franchise_id
    for url in ("/payment/a%00b", "/payment/a%00b/refunds", "/payment/x/refunds/a%00b"):
        assert (await client.get(url, headers=admin)).status_code in (400, 404), url
    cursor = await client.get("/payment/owed-refunds", params={"cursor": "99999999999999999999"}, headers=admin)
    assert cursor.status_code == 422


async def test_a_payment_with_a_refund_under_way_is_left_for_a_later_run(
    payment_app: Callable[..., FastAPI],
    client: httpx.AsyncClient,
    world: FakeWorld,
    member: Maker,
    franchise: Maker,
    service: Headers,
) -> None:
    (alice, headers), (shop, _) = member(10_000), franchise()
    pid = (await pay(client, headers, order(alice, shop, 10_000)))["paymentId"]
    since = await approved_at(client, service, pid)
    world.silent.add("RefundToWallet")
    try:
        async with serving(payment_app(payment_wait_seconds=0)) as impatient:
            started = await impatient.post(f"/payment/{pid}/cancel", json={"amount": 2_500}, headers=headers)
        assert (started.status_code, started.json()["status"]) == (202, "REQUESTED")
        assert started.headers["location"] == started.json()["statusUrl"]
        # Its refund will take from the payable: a line counting it before that could not be settled.
        assert shop not in await claim(client, service, "s-under-way", since)
    finally:
        world.silent.discard("RefundToWallet")

    status_url = started.json()["statusUrl"]

    async def succeeded() -> bool:
        return bool((await client.get(status_url, headers=headers)).json()["status"] == "SUCCEEDED")

    await eventually(succeeded, seconds=5)
    assert (await client.get(status_url, headers=headers)).json()["afterSettlement"] is False
    line = (await claim(client, service, "s-later", since))[shop]
    assert (line["gross"], line["paymentCount"], line["owed"]) == (7_500, 1, 0)


async def told(database_url: str, subject: str, key: str, value: str) -> list[dict[str, Any]]:
    """The payloads of `subject` payment recorded in its outbox whose `key` object has that id, in order."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.select(outbox.c.payload)
                .where(outbox.c.subject == subject, outbox.c.payload[key].astext.contains(value))
                .order_by(outbox.c.position)
            )
            return [payload for (payload,) in rows]
    finally:
        await engine.dispose()


async def test_how_a_payment_and_its_refund_ended_is_told_once_in_the_transaction_that_ended_them(
    client: httpx.AsyncClient, world: FakeWorld, member: Maker, franchise: Maker, database_url: str
) -> None:
    (alice, headers), (shop, _) = member(10_000), franchise("3.5")
    pid = (await pay(client, headers, order(alice, shop, 4_000)))["paymentId"]
    refund = (await client.post(f"/payment/{pid}/cancel", json={"amount": 1_000}, headers=headers)).json()
    world.refuse["PayFromWallet"] = "member-deactivated"
    try:
        failed = (await client.post("/payment/request", json=order(alice, shop, 1_000), headers=headers)).json()
    finally:
        del world.refuse["PayFromWallet"]

    approved = await told(database_url, PaymentApproved.subject, "payment", pid)
    assert [(told_["payment"]["status"], told_["payment"]["franchiseId"]) for told_ in approved] == [("APPROVED", shop)]
    refunded = await told(database_url, RefundSucceeded.subject, "refund", refund["refundId"])
    assert [(told_["refund"]["amount"], told_["payerMembershipId"]) for told_ in refunded] == [(1_000, alice)]
    refused = await told(database_url, PaymentFailed.subject, "payment", failed["paymentId"])
    assert [told_["payment"]["reason"] for told_ in refused] == ["member-deactivated"]
