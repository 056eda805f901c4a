"""Franchise's rules against real PostgreSQL: who registers, reads and changes what, the settlement account the
bank confirms, the fee-rate history, the events in the outbox, and that a refusal records nothing."""

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from franchise_support import FakeWorld
from pay.franchise.adapters.tables import fee_rates, franchises
from pay.platform.db import outbox

Member = Callable[..., tuple[str, dict[str, str]]]
Account = Callable[[], tuple[str, str]]


def registration(owner: str, account: tuple[str, str], **change: Any) -> dict[str, Any]:
    body = {
        "ownerMembershipId": owner,
        "name": "Cafe Pay",
        "contact": "010-1234-5678",
        "bankName": account[0],
        "bankAccountNumber": account[1],
        "feeRate": "3.5",
        "webhookUrl": "https://cafe.example/pay-hooks",
    }
    return body | change


async def stored_franchises(database: AsyncEngine, owner: str) -> int:
    async with database.connect() as connection:
        statement = sa.select(sa.func.count()).where(franchises.c.owner_membership_id == owner)
        return int((await connection.execute(statement)).scalar_one())


async def events_of(database: AsyncEngine, franchise_id: str) -> list[tuple[str, dict[str, Any]]]:
    async with database.connect() as connection:
        statement = (
            sa.select(outbox.c.subject, outbox.c.payload)
            .where(outbox.c.payload["franchiseId"].astext == franchise_id)
            .order_by(outbox.c.position)
        )
        return [(row.subject, row.payload) for row in await connection.execute(statement)]


async def test_a_corporate_member_registers_a_franchise_and_reads_it(
    client: httpx.AsyncClient, database: AsyncEngine, member: Member, account: Account
) -> None:
    owner, headers = member()
    settlement = account()
    response = await client.post("/franchise/register", json=registration(owner, settlement), headers=headers)

    assert response.status_code == 201, response.text
    registered = response.json()
    assert response.headers["location"] == f"/franchise/{registered['franchiseId']}"
    assert {key: registered[key] for key in ("ownerMembershipId", "feeRate", "isValid", "bankAccountNumber")} == {
        "ownerMembershipId": owner,
        "feeRate": "3.5",
        "isValid": True,
        "bankAccountNumber": settlement[1],
    }
    # The webhook secret is shown in this answer only.
    assert registered.pop("webhookSecret").startswith("whsec_")
    read = await client.get(f"/franchise/{registered['franchiseId']}", headers=headers)
    assert read.json() == registered
    [(subject, payload)] = await events_of(database, registered["franchiseId"])
    assert (subject, payload["feeRate"], payload["ownerMembershipId"]) == (
        "pay.events.franchise.registered.v1",
        "3.5",
        owner,
    )


@pytest.mark.parametrize(
    "change",
    [
        {"feeRate": 3.5},
        {"feeRate": 3},
        {"feeRate": "abc"},
        {"feeRate": "20.01"},
        {"feeRate": "1.234"},
        {"feeRate": "-1"},
        {"feeRate": "NaN"},
        {"feeRate": "Infinity"},
        {"webhookUrl": "ftp://cafe.example/"},
        {"webhookUrl": "https://" + "a" * 500 + ".example"},
        {"name": ""},
        {"bankAccountNumber": "12/34"},
        {"unknown": 1},
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, database: AsyncEngine, member: Member, account: Account, change: dict[str, Any]
) -> None:
    owner, headers = member()
    response = await client.post("/franchise/register", json=registration(owner, account(), **change), headers=headers)
    assert (response.status_code, response.json()["code"]) == (422, "validation-error"), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert await stored_franchises(database, owner) == 0


async def test_the_owner_and_the_settlement_account_are_checked(
    client: httpx.AsyncClient, database: AsyncEngine, world: FakeWorld, member: Member, account: Account
) -> None:
    (corp, corp_headers), (person, person_headers), (invalid, _) = member(), member(corporate=False), member()
    world.invalid_members.add(invalid)
    cases = [
        (registration(person, account()), person_headers, 403, "not-a-corporate-member"),
        (registration(corp, account()), person_headers, 403, "forbidden"),
        (registration(corp, ("KB", "NO-SUCH-ACCOUNT")), corp_headers, 422, "bank-account-unknown"),
    ]
    for body, caller, status, code in cases:
        response = await client.post("/franchise/register", json=body, headers=caller)
        assert (response.status_code, response.json()["code"]) == (status, code), (body, response.text)
    for owner in (corp, person):
        assert await stored_franchises(database, owner) == 0


async def test_an_admin_registers_for_a_member_that_must_exist_and_be_valid(
    client: httpx.AsyncClient, world: FakeWorld, member: Member, account: Account, admin: dict[str, str]
) -> None:
    (corp, _), (invalid, _) = member(), member()
    world.invalid_members.add(invalid)
    nobody = str(uuid.uuid4())
    for owner, status, code in [(nobody, 404, "owner-not-found"), (invalid, 422, "owner-invalid")]:
        response = await client.post("/franchise/register", json=registration(owner, account()), headers=admin)
        assert (response.status_code, response.json()["code"]) == (status, code), response.text
    created = await client.post("/franchise/register", json=registration(corp, account()), headers=admin)
    assert created.status_code == 201, created.text


async def test_banking_down_is_503_and_nothing_is_stored(
    client: httpx.AsyncClient, database: AsyncEngine, world: FakeWorld, member: Member, account: Account
) -> None:
    owner, headers = member()
    world.banking_down = True
    try:
        response = await client.post("/franchise/register", json=registration(owner, account()), headers=headers)
    finally:
        world.banking_down = False
    assert (response.status_code, response.json()["code"]) == (503, "downstream-unavailable")
    assert response.headers["retry-after"] == "2"
    assert await stored_franchises(database, owner) == 0


async def test_the_same_key_answers_the_same_franchise_and_another_body_is_refused(
    client: httpx.AsyncClient, database: AsyncEngine, member: Member, account: Account
) -> None:
    owner, headers = member()
    settlement = account()
    keyed = headers | {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post("/franchise/register", json=registration(owner, settlement), headers=keyed)
    again = await client.post("/franchise/register", json=registration(owner, settlement), headers=keyed)
    other = await client.post("/franchise/register", json=registration(owner, settlement, name="Other"), headers=keyed)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert (other.status_code, other.json()["code"]) == (409, "idempotency-key-reuse")
    assert await stored_franchises(database, owner) == 1


async def test_another_member_neither_reads_nor_changes_a_franchise_nor_lists_its_owners(
    client: httpx.AsyncClient, member: Member, account: Account
) -> None:
    (owner, headers), (_, stranger) = member(), member()
    franchise = (await client.post("/franchise/register", json=registration(owner, account()), headers=headers)).json()
    url = f"/franchise/{franchise['franchiseId']}"

    assert (await client.get(url, headers=stranger)).json()["code"] == "franchise-not-found"
    changed = await client.post(url, json={"name": "Mine now"}, headers=stranger)
    assert (changed.status_code, changed.json()["code"]) == (404, "franchise-not-found")
    assert (await client.get(f"/franchise?ownerMembershipId={owner}", headers=stranger)).status_code == 403
    assert (await client.get("/franchise", headers=stranger)).status_code == 403
    assert (await client.get(url, headers=headers)).json()["name"] == "Cafe Pay"


async def test_the_owner_lists_its_franchises_a_page_at_a_time(
    client: httpx.AsyncClient, member: Member, account: Account, admin: dict[str, str]
) -> None:
    owner, headers = member()
    ids = [
        (
            await client.post("/franchise/register", json=registration(owner, account(), name=name), headers=headers)
        ).json()["franchiseId"]
        for name in ("One", "Two", "Three")
    ]
    first = (await client.get(f"/franchise?ownerMembershipId={owner}&limit=2", headers=headers)).json()
    rest = (
        await client.get(f"/franchise?ownerMembershipId={owner}&limit=2&cursor={first['nextCursor']}", headers=headers)
    ).json()
    assert [item["franchiseId"] for item in first["items"] + rest["items"]] == ids
    assert rest["nextCursor"] is None
    everyone = (await client.get("/franchise?limit=500", headers=admin)).json()
    assert set(ids) <= {item["franchiseId"] for item in everyone["items"]}


async def test_the_owner_changes_details_but_the_fee_rate_only_an_admin(
    client: httpx.AsyncClient, database: AsyncEngine, member: Member, account: Account, admin: dict[str, str]
) -> None:
    owner, headers = member()
    franchise = (await client.post("/franchise/register", json=registration(owner, account()), headers=headers)).json()
    url = f"/franchise/{franchise['franchiseId']}"

    renamed = await client.post(url, json={"name": "Cafe Two", "webhookUrl": None, "feeRate": "3.50"}, headers=headers)
    assert renamed.status_code == 200, renamed.text
    answer = renamed.json()
    assert (answer["name"], answer["webhookUrl"], answer["feeRate"]) == ("Cafe Two", None, "3.5")
    for body, code in [({"feeRate": "1"}, "fee-rate-admin-only"), ({"isValid": False}, "validity-admin-only")]:
        refused = await client.post(url, json=body, headers=headers)
        assert (refused.status_code, refused.json()["code"]) == (403, code)

    changed = await client.post(url, json={"feeRate": "2.75"}, headers=admin)
    assert changed.json()["feeRate"] == "2.75"
    assert (await client.get(url, headers=headers)).json()["feeRate"] == "2.75"
    async with database.connect() as connection:
        statement = (
            sa.select(fee_rates.c.rate)
            .where(fee_rates.c.franchise_id == franchise["franchiseId"])
            .order_by(fee_rates.c.effective_from)
        )
        assert list((await connection.execute(statement)).scalars()) == [Decimal("3.5"), Decimal("2.75")]
    subjects = [subject for subject, _ in await events_of(database, franchise["franchiseId"])]
    assert subjects == ["pay.events.franchise.registered.v1"] + ["pay.events.franchise.modified.v1"] * 2


async def test_a_new_settlement_account_is_confirmed_by_the_bank(
    client: httpx.AsyncClient, world: FakeWorld, member: Member, account: Account
) -> None:
    owner, headers = member()
    franchise = (await client.post("/franchise/register", json=registration(owner, account()), headers=headers)).json()
    url = f"/franchise/{franchise['franchiseId']}"

    unknown = await client.post(url, json={"bankAccountNumber": "NO-SUCH-ACCOUNT"}, headers=headers)
    assert (unknown.status_code, unknown.json()["code"]) == (422, "bank-account-unknown")
    world.banking_down = True
    try:
        down = await client.post(url, json={"bankAccountNumber": account()[1]}, headers=headers)
    finally:
        world.banking_down = False
    assert (down.status_code, down.json()["code"]) == (503, "downstream-unavailable")
    assert (await client.get(url, headers=headers)).json()["bankAccountNumber"] == franchise["bankAccountNumber"]

    asked = len(world.bank_asked)
    _, number = account()
    moved = await client.post(url, json={"bankAccountNumber": number}, headers=headers)
    assert moved.json()["bankAccountNumber"] == number
    assert world.bank_asked[asked:] == [("KB", number)]


async def test_a_refused_change_asks_nobody_and_changes_nothing(
    client: httpx.AsyncClient, world: FakeWorld, member: Member, account: Account
) -> None:
    owner, headers = member()
    franchise = (await client.post("/franchise/register", json=registration(owner, account()), headers=headers)).json()
    url = f"/franchise/{franchise['franchiseId']}"
    asked = len(world.bank_asked)

    refused = await client.post(url, json={"bankAccountNumber": account()[1], "feeRate": "9"}, headers=headers)
    assert refused.json()["code"] == "fee-rate-admin-only"
    assert len(world.bank_asked) == asked
    assert (await client.get(url, headers=headers)).json() == {
        key: value for key, value in franchise.items() if key != "webhookSecret"
    }
