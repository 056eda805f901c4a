"""Merchant webhooks against real PostgreSQL and NATS: a franchise's payment events reach its receiver signed,
are tried again after a 500, are logged and redelivered; its URL and secret are guarded."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from pay.contracts.payment import Payment, PaymentApproved, PaymentMethod, PaymentStatus
from pay.franchise.adapters.clients import HttpWebhookSender
from pay.franchise.adapters.messaging import webhook_event
from pay.franchise.adapters.tables import webhook_deliveries, webhook_secrets
from pay.franchise.app import create_app
from pay.franchise.application import webhooks
from pay.franchise.settings import FranchiseSettings
from pay.platform import auth
from pay.platform.broker import Broker
from webhook_receiver import Receiver

from support import eventually, listening, serving, settings_for, token_for

Member = Callable[..., tuple[str, dict[str, str]]]
Account = Callable[[], tuple[str, str]]


@pytest.fixture(scope="module")
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture(scope="module")
async def receiver_url(receiver: Receiver) -> AsyncIterator[str]:
    async with listening(receiver.app()) as url:
        yield f"{url}/hooks"


@pytest.fixture(scope="module")
async def app(database_url: str, nats_url: str, data_dir: Path, others_url: str) -> FastAPI:
    settings = settings_for(
        FranchiseSettings,
        database_url,
        nats_url,
        data_dir,
        service_urls={"membership": others_url, "banking": others_url},
        service_token=token_for(data_dir, "franchise", auth.Role.SERVICE),
        webhook_retry_first_seconds=0.2,
        webhook_timeout_seconds=2,
    )
    return create_app(settings)


@pytest.fixture(scope="module")
async def hooks_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(app) as client:
        yield client


@pytest.fixture(scope="module")
async def publisher(nats_url: str, hooks_client: httpx.AsyncClient) -> AsyncIterator[Broker]:
    broker = Broker(nats_url, f"test-publisher-{uuid.uuid4().hex[:6]}")
    await broker.start()
    yield broker
    await broker.stop()


async def register(
    client: httpx.AsyncClient, member: Member, account: Account, webhook_url: str | None
) -> tuple[str, str, dict[str, str]]:
    owner, headers = member()
    bank, number = account()
    body = {
        "ownerMembershipId": owner,
        "name": "Cafe Hooks",
        "contact": "010-0000-0000",
        "bankName": bank,
        "bankAccountNumber": number,
        "feeRate": "3.5",
        "webhookUrl": webhook_url,
    }
    response = await client.post("/franchise/register", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["franchiseId"], response.json()["webhookSecret"], headers


def approved(franchise_id: str) -> PaymentApproved:
    now = datetime.now(UTC)
    payment_id = str(uuid.uuid4())
    return PaymentApproved(
        correlation_id=payment_id,
        payment=Payment(
            payment_id=payment_id,
            request_membership_id="payer-1",
            franchise_id=franchise_id,
            request_price=12_000,
            method=PaymentMethod.WALLET,
            fee_rate="3.5",
            fee=420,
            refunded_amount=0,
            status=PaymentStatus.APPROVED,
            reason=None,
            approved_at=now,
            settled_at=None,
            settlement_id=None,
            order_id=None,
            created_at=now,
            updated_at=now,
            status_url=f"/payment/{payment_id}",
        ),
    )


async def test_an_event_reaches_the_receiver_signed_and_a_500_is_tried_again_until_it_is_taken(
    hooks_client: httpx.AsyncClient,
    publisher: Broker,
    receiver: Receiver,
    receiver_url: str,
    member: Member,
    account: Account,
    admin: dict[str, str],
) -> None:
    franchise_id, secret, headers = await register(hooks_client, member, account, receiver_url)
    receiver.secret, receiver.answers = secret, [500]
    receiver.received.clear()
    event = approved(franchise_id)
    await publisher.publish_message(event)
    log_url = f"/franchise/{franchise_id}/webhook-deliveries"

    async def delivered() -> dict[str, Any] | None:
        items = (await hooks_client.get(log_url, headers=headers)).json()["items"]
        return items[0] if items and items[0]["status"] == "DELIVERED" else None

    delivery = await eventually(delivered, seconds=10)
    assert [attempt["statusCode"] for attempt in delivery["attempts"]] == [500, 200]
    assert (delivery["eventId"], delivery["eventType"]) == (event.message_id, "payment.approved")
    assert [verified for verified, _ in receiver.received] == [True, True]
    assert receiver.received[0][1] == receiver.received[1][1]
    body = json.loads(receiver.received[0][1])
    assert (body["id"], body["type"], body["data"]["payment"]["paymentId"]) == (
        event.message_id,
        "payment.approved",
        event.payment.payment_id,
    )

    # Only the owner and admins read the log or redeliver.
    _, stranger = member()
    assert (await hooks_client.get(log_url, headers=stranger)).status_code == 403
    redeliver_url = f"{log_url}/{delivery['deliveryId']}/redeliver"
    assert (await hooks_client.post(redeliver_url, headers=stranger)).status_code == 403
    assert (await hooks_client.get(log_url, headers=admin)).status_code == 200
    assert (await hooks_client.post(f"{log_url}/nope/redeliver", headers=headers)).status_code == 404

    # A rotated secret signs what is sent from then on; a redelivery sends the same event again.
    rotated = await hooks_client.post(f"/franchise/{franchise_id}/webhook-secret", headers=headers)
    assert rotated.status_code == 200 and rotated.json()["webhookSecret"] != secret
    receiver.secret = rotated.json()["webhookSecret"]
    assert (await hooks_client.post(redeliver_url, headers=headers)).status_code == 202

    async def third() -> bool:
        return len(receiver.received) == 3

    await eventually(third, seconds=10)
    assert receiver.received[2] == (True, receiver.received[0][1])
    again = await eventually(delivered, seconds=10)
    assert [attempt["statusCode"] for attempt in again["attempts"]] == [500, 200, 200]


async def test_each_event_makes_one_delivery_and_none_without_a_webhook_url(
    app: FastAPI, hooks_client: httpx.AsyncClient, database: AsyncEngine, member: Member, account: Account
) -> None:
    with_hook, _, _ = await register(hooks_client, member, account, "https://cafe.example/hooks")
    without, _, _ = await register(hooks_client, member, account, None)
    event = webhook_event(approved(with_hook))
    for _ in range(2):
        await webhooks.event_happened(app.state.webhooks, event)
    await webhooks.event_happened(app.state.webhooks, webhook_event(approved(without)))
    async with database.connect() as connection:
        statement = sa.select(webhook_deliveries.c.franchise_id).where(
            webhook_deliveries.c.franchise_id.in_([with_hook, without])
        )
        assert list((await connection.execute(statement)).scalars()) == [with_hook]


async def test_the_secret_is_sealed_at_rest_and_never_shown_again(
    hooks_client: httpx.AsyncClient, database: AsyncEngine, member: Member, account: Account
) -> None:
    franchise_id, secret, headers = await register(hooks_client, member, account, None)
    async with database.connect() as connection:
        statement = sa.select(webhook_secrets.c.sealed_secret).where(webhook_secrets.c.franchise_id == franchise_id)
        sealed = (await connection.execute(statement)).scalar_one()
    assert secret.encode() not in sealed and secret[6:].encode() not in sealed
    read = await hooks_client.get(f"/franchise/{franchise_id}", headers=headers)
    assert "webhookSecret" not in read.json() and secret not in read.text
    _, stranger = member()
    refused = await hooks_client.post(f"/franchise/{franchise_id}/webhook-secret", headers=stranger)
    assert (refused.status_code, refused.json()["code"]) == (403, "not-the-franchise-owner")


@pytest.mark.parametrize(
    "url",
    [
        "http://cafe.example/hooks",
        "https://10.0.0.8/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://intranet/hooks",
    ],
)
async def test_a_webhook_url_to_anywhere_but_a_public_https_host_is_refused(
    hooks_client: httpx.AsyncClient, member: Member, account: Account, url: str
) -> None:
    owner, headers = member()
    bank, number = account()
    body = {
        "ownerMembershipId": owner,
        "name": "Cafe",
        "contact": "010",
        "bankName": bank,
        "bankAccountNumber": number,
        "feeRate": "1",
        "webhookUrl": url,
    }
    refused = await hooks_client.post("/franchise/register", json=body, headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (422, "webhook-url-refused"), refused.text
    franchise_id, _, headers = await register(hooks_client, member, account, None)
    changed = await hooks_client.post(f"/franchise/{franchise_id}", json={"webhookUrl": url}, headers=headers)
    assert (changed.status_code, changed.json()["code"]) == (422, "webhook-url-refused")


async def test_in_production_a_name_that_resolves_to_this_machine_is_never_called(
    receiver: Receiver, receiver_url: str
) -> None:
    receiver.received.clear()
    sender = HttpWebhookSender(2, loopback_allowed=False)
    try:
        sent = await sender.send(receiver_url.replace("127.0.0.1", "localhost"), b"{}", "t=1,v1=00")
    finally:
        await sender.aclose()
    assert sent.status_code is None and sent.error is not None and "not sent to" in sent.error
    assert receiver.received == []


async def test_a_receiver_that_does_not_answer_in_time_is_a_failed_try(receiver_url: str) -> None:
    sender = HttpWebhookSender(0.5, loopback_allowed=True)
    server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        sent = await sender.send(f"http://127.0.0.1:{port}/hooks", b"{}", "t=1,v1=00")
    finally:
        server.close()
        await sender.aclose()
    assert sent.status_code is None and sent.error == "no answer within 0.5 s"
    assert 400 <= sent.duration_ms < 2_000


async def test_a_receiver_that_hangs_holds_up_no_other_franchise_s_delivery(
    hooks_client: httpx.AsyncClient,
    publisher: Broker,
    receiver: Receiver,
    receiver_url: str,
    member: Member,
    account: Account,
) -> None:
    hanging = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    hanging_url = f"http://127.0.0.1:{hanging.sockets[0].getsockname()[1]}/hooks"
    try:
        slow, _, slow_headers = await register(hooks_client, member, account, hanging_url)
        fast, secret, fast_headers = await register(hooks_client, member, account, receiver_url)
        receiver.secret, receiver.answers = secret, []
        await publisher.publish_message(approved(slow))

        async def slow_under_way() -> bool:
            items = (await hooks_client.get(f"/franchise/{slow}/webhook-deliveries", headers=slow_headers)).json()
            return bool(items["items"])

        await eventually(slow_under_way, seconds=10)
        await asyncio.sleep(0.3)  # its try has started and hangs (for 2 s, the timeout)
        await publisher.publish_message(approved(fast))

        async def fast_delivered() -> bool:
            items = (await hooks_client.get(f"/franchise/{fast}/webhook-deliveries", headers=fast_headers)).json()
            return bool(items["items"]) and items["items"][0]["status"] == "DELIVERED"

        await eventually(fast_delivered, seconds=1.5)
        still = (await hooks_client.get(f"/franchise/{slow}/webhook-deliveries", headers=slow_headers)).json()
        assert still["items"][0]["attempts"] == [], "the hanging try has not ended yet"
    finally:
        hanging.close()
