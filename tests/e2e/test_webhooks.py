"""Merchant webhooks through `pay up` (issue 15): a merchant registers its franchise with a webhook on this
machine; a payment, its refund and the settlement of the day reach the receiver signed with the secret shown at
registration; the receiver's first 500 is tried again; the log shows every try and a redelivery sends one again."""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from e2e.test_commerce import admin_headers, cancel, line_of, merchant, pay, settle_today
from e2e_support import member_with_bank_account, until, wallet_of
from webhook_receiver import Receiver, receiving

from system import RunningSystem

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver() -> Receiver:
    return Receiver(answers=[500])


@pytest.fixture
def receiver_url(receiver: Receiver) -> Iterator[str]:
    with receiving(receiver) as url:
        yield url


def test_payment_refund_and_settlement_events_reach_the_merchant_signed_and_a_500_is_tried_again(
    system: RunningSystem, http: httpx.Client, receiver: Receiver, receiver_url: str
) -> None:
    shop = merchant(system, http, receiver_url)
    receiver.secret = shop["secret"]
    payer = member_with_bank_account(system, http, 100_000)
    wallet_of(system, http, payer)  # money opens it when it hears of the registration
    paid = pay(system, http, payer, shop["id"], 20_000, "WALLET")
    assert paid["status"] == "APPROVED"
    assert cancel(system, http, payer, paid, 5_000).json()["status"] == "SUCCEEDED"
    admin = admin_headers(system, http)
    assert line_of(system, http, admin, settle_today(system, http, admin), shop["id"])["status"] == "SUCCEEDED"

    def all_received() -> list[dict[str, Any]] | None:
        # Three events, and the first delivery again after its 500.
        bodies = [json.loads(body) for _, body in receiver.received]
        return bodies if len(bodies) >= 4 else None

    bodies = until(all_received, "the three events and one retry reached the receiver")
    assert {body["type"] for body in bodies} == {"payment.approved", "refund.succeeded", "settlement.line-paid"}
    assert all(verified for verified, _ in receiver.received), "every delivery is signed with the shown secret"
    first = bodies[0]
    assert [body["id"] for body in bodies].count(first["id"]) == 2, "the delivery answered 500 came again"
    assert len({body["id"] for body in bodies}) == 3
    approved = next(json.loads(body) for _, body in receiver.received if json.loads(body)["type"] == "payment.approved")
    assert approved["data"]["payment"]["paymentId"] == paid["paymentId"]

    log_url = f"{system.url('franchise')}/franchise/{shop['id']}/webhook-deliveries"

    def all_delivered() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = http.get(log_url, headers=shop["headers"]).json()["items"]
        return items if len(items) == 3 and all(item["status"] == "DELIVERED" for item in items) else None

    items = until(all_delivered, "every delivery logged as delivered")
    retried = next(item for item in items if item["eventId"] == first["id"])
    assert [attempt["statusCode"] for attempt in retried["attempts"]] == [500, 200]

    stranger = member_with_bank_account(system, http, 0)
    assert http.get(log_url, headers=stranger["headers"]).status_code == 403
    redelivered = http.post(f"{log_url}/{retried['deliveryId']}/redeliver", headers=shop["headers"])
    assert redelivered.status_code == 202, redelivered.text
    until(lambda: len(receiver.received) == len(bodies) + 1, "the redelivery reached the receiver")
    assert json.loads(receiver.received[-1][1])["id"] == first["id"]
