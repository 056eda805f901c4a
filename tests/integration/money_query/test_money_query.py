"""The read model applies each event once, whatever the copies and their order, follows members who move,
catches up after the broker restarts, and a replay of the stream gives the same model."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from pay.contracts.membership import MembershipModified, MembershipRegistered
from pay.contracts.messages import Message
from pay.contracts.money import WalletChanged
from pay.platform.broker import Broker

from .conftest import RestartableNats
from support import eventually

T0 = datetime(2026, 12, 2, 9, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def region() -> str:
    return f"Region {uuid.uuid4().hex[:8]}"


def registered(membership_id: str, address: str, minutes: int = 0) -> MembershipRegistered:
    return MembershipRegistered(
        membership_id=membership_id, address=address, is_valid=True, is_corp=False, occurred_at=at(minutes)
    )


def moved(membership_id: str, old: str, new: str, minutes: int) -> MembershipModified:
    return MembershipModified(
        membership_id=membership_id,
        old_address=old,
        new_address=new,
        is_valid=True,
        is_corp=False,
        occurred_at=at(minutes),
    )


def changed(membership_id: str, balance: int, version: int) -> WalletChanged:
    return WalletChanged(membership_id=membership_id, balance=balance, version=version, changed_at=at(version))


async def publish(broker: Broker, *messages: Message, copies: int = 1) -> None:
    """Each message `copies` times, each copy a publish of its own (as a relay that crashed before marking
    its rows published would send it again), so that JetStream's de-duplication does not drop it."""
    for message in messages:
        for _ in range(copies):
            await broker.publish(message.subject, message.to_payload(), str(uuid.uuid4()))


async def money_of(client: httpx.AsyncClient, headers: dict[str, str], address: str) -> tuple[int, int]:
    response = await client.get(f"/money/query/get-money-sum-by-address/{address}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["address"] == address
    return body["moneySum"], body["memberCount"]


async def applied(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    response = await client.get("/money/query/status", headers=headers)
    assert response.status_code == 200, response.text
    count: int = response.json()["eventsApplied"]
    return count


async def test_duplicate_deliveries_count_once(
    client: httpx.AsyncClient, publisher: Broker, admin: dict[str, str]
) -> None:
    address, alice = region(), str(uuid.uuid4())
    before = await applied(client, admin)
    events = [registered(alice, address), changed(alice, 0, 1), changed(alice, 10_000, 2), changed(alice, 7_000, 3)]

    await publish(publisher, *events, copies=3)

    async def all_applied() -> bool:
        return await applied(client, admin) >= before + len(events)

    await eventually(all_applied, seconds=15)
    await asyncio.sleep(0.5)
    assert await applied(client, admin) == before + len(events)
    assert await money_of(client, admin, address) == (7_000, 1)


async def test_a_burst_of_events_and_their_copies_applied_in_groups_counts_each_once(
    client: httpx.AsyncClient, publisher: Broker, admin: dict[str, str]
) -> None:
    address, members = region(), [str(uuid.uuid4()) for _ in range(20)]
    before = await applied(client, admin)
    events: list[Message] = [registered(member, address) for member in members]
    events += [changed(member, 1_000 * version, version) for member in members for version in range(1, 11)]

    # Published from several tasks at once, so that copies and members' events meet in the same groups.
    await asyncio.gather(*(publish(publisher, *events[start::4], copies=2) for start in range(4)))

    async def all_applied() -> bool:
        return await applied(client, admin) >= before + len(events)

    await eventually(all_applied, seconds=15)
    await asyncio.sleep(0.5)
    assert await applied(client, admin) == before + len(events)
    assert await money_of(client, admin, address) == (20 * 10_000, 20)


async def test_an_older_version_arriving_after_a_newer_one_changes_nothing(
    client: httpx.AsyncClient, publisher: Broker, admin: dict[str, str]
) -> None:
    address, bob = region(), str(uuid.uuid4())
    before = await applied(client, admin)

    await publish(publisher, changed(bob, 9_000, 4), changed(bob, 3_000, 2), registered(bob, address))
    await publish(publisher, changed(bob, 5_000, 3))

    async def all_applied() -> bool:
        return await applied(client, admin) >= before + 4

    await eventually(all_applied, seconds=15)
    assert await money_of(client, admin, address) == (9_000, 1)


async def test_a_member_who_moves_takes_its_balance_to_the_new_region_even_heard_before_its_registration(
    client: httpx.AsyncClient, publisher: Broker, admin: dict[str, str]
) -> None:
    seoul, busan, carol, dave = region(), region(), str(uuid.uuid4()), str(uuid.uuid4())

    await publish(publisher, registered(dave, seoul), changed(dave, 2_000, 2))
    await publish(publisher, moved(carol, seoul, busan, 5), changed(carol, 8_000, 2), registered(carol, seoul))

    async def settled() -> bool:
        return await money_of(client, admin, busan) == (8_000, 1) and await money_of(client, admin, seoul) == (
            2_000,
            1,
        )

    await eventually(settled, seconds=15)


async def test_an_unknown_region_holds_nothing_a_long_address_is_refused_and_members_may_not_ask(
    client: httpx.AsyncClient, admin: dict[str, str], member_headers: dict[str, str]
) -> None:
    assert await money_of(client, admin, region()) == (0, 0)

    too_long = await client.get(f"/money/query/get-money-sum-by-address/{'x' * 101}", headers=admin)
    by_member = await client.get("/money/query/get-money-sum-by-address/Seoul", headers=member_headers)
    rebuild_by_member = await client.post("/money/query/rebuild", headers=member_headers)

    control = await client.get("/money/query/get-money-sum-by-address/Seoul%0A", headers=admin)
    assert (too_long.status_code, control.status_code) == (422, 422)
    assert too_long.headers["content-type"].startswith("application/problem+json")
    assert (by_member.status_code, rebuild_by_member.status_code) == (403, 403)


async def test_events_published_while_the_broker_restarts_are_applied_once_each(
    client: httpx.AsyncClient, publisher: Broker, admin: dict[str, str], nats: RestartableNats
) -> None:
    address = region()
    members = [str(uuid.uuid4()) for _ in range(5)]
    before = await applied(client, admin)
    events: list[Message] = [registered(member, address) for member in members]
    events += [changed(member, 1_000 * version, version) for version in range(1, 6) for member in members]

    async def publish_through_outage() -> None:
        # As the outbox relay does: a message not acknowledged is sent again, with the same id.
        for message in events:
            await asyncio.sleep(0.05)
            while True:
                try:
                    await publisher.publish(message.subject, message.to_payload(), message.message_id)
                    break
                except Exception:
                    await asyncio.sleep(0.2)

    flowing = asyncio.create_task(publish_through_outage())
    await asyncio.sleep(0.5)
    assert not flowing.done()
    await asyncio.to_thread(nats.stop)
    await asyncio.sleep(1)
    await asyncio.to_thread(nats.start)
    await flowing

    async def caught_up() -> bool:
        return await applied(client, admin) >= before + len(events)

    await eventually(caught_up, seconds=60)
    await asyncio.sleep(0.5)
    assert await applied(client, admin) == before + len(events)
    assert await money_of(client, admin, address) == (5 * 5_000, 5)


async def test_a_replay_of_the_stream_gives_the_live_model_even_two_at_once(
    client: httpx.AsyncClient, publisher: Broker, admin: dict[str, str]
) -> None:
    address, erin = region(), str(uuid.uuid4())
    await publish(publisher, registered(erin, address), changed(erin, 4_000, 2), copies=2)

    async def applied_live() -> bool:
        return await money_of(client, admin, address) == (4_000, 1)

    await eventually(applied_live, seconds=15)

    response, alongside = await asyncio.gather(
        client.post("/money/query/rebuild", headers=admin), client.post("/money/query/rebuild", headers=admin)
    )

    assert (response.status_code, alongside.status_code) == (200, 200), response.text + alongside.text
    report = response.json()
    assert report["differences"] == []
    assert report["membersRebuilt"] >= 1
    assert report["eventsReplayed"] >= 4
