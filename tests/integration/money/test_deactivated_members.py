"""A member membership deactivated moves no money with the access token it still holds (issue 11)."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from pay.contracts.membership import MembershipModified
from pay.money.application.use_cases import MEMBERSHIP_CONSUMER
from pay.platform.broker import Broker

from money_support import FakeBanking, Member


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


def modified(membership_id: str, is_valid: bool, occurred_at: datetime | None = None) -> MembershipModified:
    return MembershipModified(
        membership_id=membership_id,
        old_address="강남구",
        new_address="강남구",
        is_valid=is_valid,
        is_corp=False,
        occurred_at=occurred_at or datetime.now(UTC),
    )


async def standing(engine: AsyncEngine, membership_id: str) -> tuple[bool, datetime] | None:
    statement = sa.text("SELECT deactivated, as_of FROM deactivated_members WHERE membership_id = :id")
    async with engine.connect() as connection:
        row = (await connection.execute(statement, {"id": membership_id})).first()
    return (bool(row[0]), row[1]) if row is not None else None


async def applied(engine: AsyncEngine, event: MembershipModified) -> None:
    """Wait until money recorded the event for its member."""
    for _ in range(100):
        if await standing(engine, event.membership_id) == (not event.is_valid, event.occurred_at):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{event} was not applied")


async def settled(engine: AsyncEngine, broker: Broker) -> None:
    """Wait until money has handled what was published before: one event for another member, after them."""
    sentinel = modified(str(uuid.uuid4()), False)
    await broker.publish_message(sentinel)
    await applied(engine, sentinel)


async def balance(client: httpx.AsyncClient, member: Member) -> int:
    response = await client.get(f"/money/{member.membership_id}", headers=member.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["balance"])


async def move(client: httpx.AsyncClient, member: Member, route: str, other: Member, **headers: str) -> httpx.Response:
    if route == "transfer":
        body: dict[str, Any] = {
            "fromMembershipId": member.membership_id,
            "toMembershipId": other.membership_id,
            "amount": 1_000,
        }
    else:
        body = {"targetMembershipId": member.membership_id, "amount": 1_000}
    return await client.post(f"/money/{route}", json=body, headers=member.headers | headers)


ROUTES = ("transfer", "increase", "increase-async", "decrease")


async def test_a_deactivated_member_moves_no_money_until_reactivated(
    client: httpx.AsyncClient,
    new_member: Callable[..., Any],
    banking: FakeBanking,
    bank_responder: Broker,
    engine: AsyncEngine,
    admin_headers: dict[str, str],
) -> None:
    alice, bob = await new_member(10_000, banking=banking), await new_member(banking=banking)
    deactivated = modified(alice.membership_id, False)
    await bank_responder.publish_message(deactivated)
    await applied(engine, deactivated)

    keys = {route: {"Idempotency-Key": str(uuid.uuid4())} for route in ROUTES}
    for route in ROUTES:
        refused = await move(client, alice, route, bob, **keys[route])
        assert refused.status_code == 403, (route, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "member-deactivated"
    unkeyed = await move(client, alice, "transfer", bob)
    assert unkeyed.status_code == 403 and unkeyed.json()["code"] == "member-deactivated"
    assert (await balance(client, alice), await balance(client, bob)) == (10_000, 0)

    # Nor is money sent to a deactivated member; an admin still acts for one.
    to_alice = await move(client, bob, "transfer", alice)
    assert to_alice.status_code == 409 and to_alice.json()["code"] == "recipient-deactivated"
    body = {"fromMembershipId": alice.membership_id, "toMembershipId": bob.membership_id, "amount": 500}
    by_admin = await client.post("/money/transfer", json=body, headers=admin_headers)
    assert by_admin.status_code == 200, by_admin.text
    assert (await balance(client, alice), await balance(client, bob)) == (9_500, 500)

    # A second delivery of the deactivation is not applied again, even if it said otherwise.
    forged = deactivated.to_payload() | {"isValid": True, "occurredAt": datetime.now(UTC).isoformat()}
    await bank_responder.publish(deactivated.subject, forged, str(uuid.uuid4()))
    await settled(engine, bank_responder)
    assert await standing(engine, alice.membership_id) == (True, deactivated.occurred_at)
    assert (await move(client, alice, "transfer", bob)).status_code == 403
    async with engine.connect() as connection:
        deliveries = await connection.scalar(
            sa.text("SELECT count(*) FROM inbox WHERE consumer = :consumer AND message_id = :id"),
            {"consumer": MEMBERSHIP_CONSUMER, "id": deactivated.message_id},
        )
    assert deliveries == 1

    reactivated = modified(alice.membership_id, True)
    await bank_responder.publish_message(reactivated)
    await applied(engine, reactivated)
    # An older deactivation arriving late changes nothing.
    await bank_responder.publish_message(modified(alice.membership_id, False, deactivated.occurred_at))
    await settled(engine, bank_responder)
    assert await standing(engine, alice.membership_id) == (False, reactivated.occurred_at)

    # The keys of the refused requests were left unused: they now start their requests.
    sent = await move(client, alice, "transfer", bob, **keys["transfer"])
    assert sent.status_code == 200 and "idempotent-replayed" not in sent.headers, sent.text
    recharged = await move(client, alice, "increase", bob, **keys["increase"])
    assert recharged.status_code == 200 and recharged.json()["status"] == "SUCCEEDED", recharged.text
    withdrawn = await move(client, alice, "decrease", bob, **keys["decrease"])
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "SUCCEEDED", withdrawn.text
    assert (await balance(client, alice), await balance(client, bob)) == (8_500, 1_500)
