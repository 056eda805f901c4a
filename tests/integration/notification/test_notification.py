"""Each outcome lands in its members' feeds once whatever its deliveries; a stream delivers it within a second
and resumes after Last-Event-ID with nothing lost or repeated; tickets open a stream once; a member sees only its
own feed; a notification service that was down catches up from the broker; operators are alerted of failures,
but not flooded."""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI, Request

from pay.contracts.franchise import FranchiseRegistered
from pay.contracts.messages import Message
from pay.contracts.money import MoneyTransferred, RechargeFailed, RechargeSucceeded
from pay.contracts.settlement import LineStatus, SettlementLine, SettlementLinePaid
from pay.platform.auth import Role
from pay.platform.broker import Broker

from .conftest import Running
from support import eventually, listening

Bearer = Callable[..., dict[str, str]]


def member() -> str:
    return str(uuid.uuid4())


def recharged(membership_id: str, amount: int = 10_000) -> RechargeSucceeded:
    return RechargeSucceeded(money_changing_request_id=str(uuid.uuid4()), membership_id=membership_id, amount=amount)


def transferred(sender: str, receiver: str, amount: int) -> MoneyTransferred:
    return MoneyTransferred(
        money_changing_request_id=str(uuid.uuid4()), membership_id=sender, amount=amount, to_membership_id=receiver
    )


async def publish(broker: Broker, *messages: Message, copies: int = 1) -> None:
    """Each message `copies` times, each copy a publish of its own (as a relay that crashed before marking its
    rows published would send it again), so that JetStream's de-duplication does not drop it."""
    for message in messages:
        for _ in range(copies):
            await broker.publish(message.subject, message.to_payload(), str(uuid.uuid4()))


async def feed(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {}), "limit": 2}
        response = await client.get("/notifications", headers=headers, params=query)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["nextCursor"]
        if cursor is None:
            return items


async def feed_holds(client: httpx.AsyncClient, headers: dict[str, str], count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def check() -> bool:
        nonlocal found
        found = await feed(client, headers)
        return len(found) >= count

    await eventually(check, seconds=20)
    return found


class Stream:
    """An open stream, read event by event."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.comments = 0

    async def next_event(self, seconds: float = 5) -> tuple[int, str, dict[str, Any]]:
        async with asyncio.timeout(seconds):
            fields: dict[str, str] = {}
            async for line in self._lines:
                if line.startswith(":"):
                    self.comments += 1
                elif line:
                    name, _, value = line.partition(": ")
                    fields[name] = value
                elif "id" in fields:
                    return int(fields["id"]), fields["event"], json.loads(fields["data"])
                else:
                    fields = {}
        raise AssertionError("the stream ended")


@asynccontextmanager
async def streaming(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **params: str
) -> AsyncIterator[Stream]:
    async with client.stream("GET", "/notifications/stream", headers=headers or {}, params=params) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Stream(response)


async def test_each_outcome_is_in_its_members_feed_once_whatever_its_deliveries(
    client: httpx.AsyncClient, publisher: Broker, bearer: Bearer
) -> None:
    alice, bob = member(), member()
    await publish(publisher, recharged(alice), transferred(alice, bob, 3_000), recharged(alice, 500), copies=3)

    alices = await feed_holds(client, bearer(alice), 2)
    bobs = await feed_holds(client, bearer(bob), 1)
    await asyncio.sleep(1)  # time for any late copy to be (wrongly) recorded

    assert await feed(client, bearer(alice)) == alices
    assert sorted((item["eventId"], item["kind"]) for item in alices) == [
        (1, "recharge.succeeded"),
        (2, "recharge.succeeded"),
    ]
    assert [(item["kind"], item["data"]["amount"], item["membershipId"]) for item in bobs] == [
        ("transfer.received", 3_000, bob)
    ]
    assert alices[0]["eventId"] > alices[1]["eventId"], "newest first"


async def test_a_stream_delivers_within_a_second_and_resumes_after_the_last_event_id(
    client: httpx.AsyncClient, publisher: Broker, bearer: Bearer
) -> None:
    alice = member()
    async with streaming(client, bearer(alice)) as stream:
        for amount in (1, 2, 3):
            sent = time.monotonic()
            await publish(publisher, recharged(alice, amount))
            event_id, kind, data = await stream.next_event()
            assert time.monotonic() - sent < 1.0
            assert (event_id, kind, data["data"]["amount"]) == (amount, "recharge.succeeded", amount)
        await asyncio.sleep(1.2)
        await publish(publisher, recharged(alice, 4))
        assert (await stream.next_event())[0] == 4
        assert stream.comments >= 1, "heartbeats keep an idle stream open"

    # Missed while disconnected, then resumed after the last one seen: nothing lost, nothing again.
    await publish(publisher, recharged(alice, 5), recharged(alice, 6))
    await feed_holds(client, bearer(alice), 6)
    async with streaming(client, {**bearer(alice), "Last-Event-ID": "4"}) as stream:
        assert [(await stream.next_event())[0] for _ in range(2)] == [5, 6]
        await publish(publisher, recharged(alice, 7))
        assert (await stream.next_event())[0] == 7
    async with streaming(client, {**bearer(alice), "Last-Event-ID": "1"}) as stream:
        assert [(await stream.next_event())[0] for _ in range(6)] == [2, 3, 4, 5, 6, 7]


async def test_a_stream_gets_every_entry_once_in_order_whichever_process_recorded_it(
    running: Running, publisher: Broker, bearer: Bearer
) -> None:
    alice = member()
    # Two processes share the consumers: the entries one records reach the other's stream through the database.
    async with (
        running(stream_heartbeat_seconds=30) as first,
        running(stream_heartbeat_seconds=30),
        streaming(first, bearer(alice)) as stream,
    ):
        for amount in range(1, 21):
            await publish(publisher, recharged(alice, amount))
        seen = [(await stream.next_event(seconds=10))[0] for _ in range(20)]
    assert seen == list(range(1, 21))


async def test_a_ticket_opens_its_members_stream_once_and_a_forged_or_expired_one_none(
    client: httpx.AsyncClient, publisher: Broker, bearer: Bearer
) -> None:
    alice = member()
    issued = await client.post("/notifications/ticket", headers=bearer(alice))
    assert issued.status_code == 201, issued.text
    ticket = issued.json()["ticket"]

    async with streaming(client, ticket=ticket) as stream:
        await publish(publisher, recharged(alice))
        assert (await stream.next_event())[1] == "recharge.succeeded"

    replayed = await client.get("/notifications/stream", params={"ticket": ticket})
    forged = await client.get("/notifications/stream", params={"ticket": "x" * 43})
    expiring = (await client.post("/notifications/ticket", headers=bearer(alice))).json()["ticket"]
    await asyncio.sleep(2.2)
    expired = await client.get("/notifications/stream", params={"ticket": expiring})
    anonymous = await client.get("/notifications/stream")
    for refused, code in ((replayed, "invalid-ticket"), (forged, "invalid-ticket"), (expired, "invalid-ticket")):
        assert refused.status_code == 401, refused.text
        assert refused.json()["code"] == code
    assert anonymous.status_code == 401
    assert (await client.post("/notifications/ticket")).status_code == 401


async def test_a_member_reads_only_its_own_feed_and_stream_and_an_admin_anyones(
    client: httpx.AsyncClient, publisher: Broker, bearer: Bearer
) -> None:
    alice, mallory = member(), member()
    await publish(publisher, recharged(alice))
    await feed_holds(client, bearer(alice), 1)

    other_feed = await client.get("/notifications", headers=bearer(mallory), params={"membershipId": alice})
    other_stream = await client.get("/notifications/stream", headers=bearer(mallory), params={"membershipId": alice})
    assert (other_feed.status_code, other_stream.status_code) == (403, 403)
    assert len(await feed(client, bearer("admin", Role.ADMIN), membershipId=alice)) == 1
    assert (await client.get("/notifications", headers=bearer(alice), params={"limit": 501})).status_code == 422
    bad_resume = await client.get("/notifications/stream", headers={**bearer(alice), "Last-Event-ID": "x"})
    assert bad_resume.status_code == 422


async def test_a_settlement_line_is_told_to_the_franchises_owner_even_before_its_registration_is_heard(
    client: httpx.AsyncClient, publisher: Broker, bearer: Bearer
) -> None:
    owner, franchise_id = member(), str(uuid.uuid4())
    line = SettlementLine(
        franchise_id=franchise_id,
        gross=10_000,
        fee=350,
        owed=0,
        payout=9_650,
        carried=0,
        status=LineStatus.SUCCEEDED,
        reason=None,
        payment_count=1,
    )
    await publish(publisher, SettlementLinePaid(settlement_id=str(uuid.uuid4()), line=line))
    await asyncio.sleep(0.5)
    registered = FranchiseRegistered(
        franchise_id=franchise_id,
        owner_membership_id=owner,
        name="Cafe",
        bank_name="KB",
        bank_account_number="1-2-3",
        fee_rate=Decimal("3.5"),
        fee_rate_since=datetime.now(UTC),
        webhook_url=None,
        is_valid=True,
    )
    await publish(publisher, registered)

    [paid] = await feed_holds(client, bearer(owner), 1)
    assert (paid["kind"], paid["data"]["payout"]) == ("settlement.paid", 9_650)


async def test_outcomes_published_while_the_service_was_down_are_recorded_when_it_is_back(
    running: Running, publisher: Broker, bearer: Bearer
) -> None:
    alice = member()
    async with running() as second:
        await publish(publisher, recharged(alice, 1))
        await feed_holds(second, bearer(alice), 1)
    await publish(publisher, recharged(alice, 2), recharged(alice, 3), copies=2)
    async with running() as third:
        items = await feed_holds(third, bearer(alice), 3)
        await asyncio.sleep(1)
        assert sorted(item["data"]["amount"] for item in await feed(third, bearer(alice))) == [1, 2, 3]
    assert sorted(item["eventId"] for item in items) == [1, 2, 3]


async def test_operators_are_alerted_of_failures_at_most_so_many_a_minute(
    running: Running, publisher: Broker, bearer: Bearer
) -> None:
    posted: list[dict[str, Any]] = []
    receiver = FastAPI()

    @receiver.post("/hook")
    async def hook(request: Request) -> dict[str, bool]:
        posted.append(await request.json())
        return {"ok": True}

    async with (
        listening(receiver) as receiver_url,
        running(alert_webhook_url=f"{receiver_url}/hook", alerts_per_minute=2),
    ):
        alice = member()
        failures = [
            RechargeFailed(money_changing_request_id=str(uuid.uuid4()), membership_id=alice, amount=n, reason="refused")
            for n in range(1, 6)
        ]
        await publish(publisher, recharged(alice), *failures)

        async def two_posted() -> bool:
            return len(posted) >= 2

        await eventually(two_posted, seconds=20)
        await asyncio.sleep(1)
    assert len(posted) == 2
    assert all("failed" in alert["text"] and "refused" in alert["text"] for alert in posted)
