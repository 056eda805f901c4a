"""Remittance's rules and saga against real PostgreSQL and NATS (issue 12); money and banking answer as told."""

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from remittance_support import FakeWorld

from .conftest import DAILY_LIMIT
from support import serving

Member = Callable[..., tuple[str, dict[str, str]]]


def to_member(sender: str, receiver: str, amount: int) -> dict[str, Any]:
    return {"fromMembershipId": sender, "toMembershipId": receiver, "remittanceType": "MEMBERSHIP", "amount": amount}


def to_bank(sender: str, bank: str, number: str, amount: int) -> dict[str, Any]:
    return {
        "fromMembershipId": sender,
        "toBankName": bank,
        "toBankAccountNumber": number,
        "remittanceType": "BANK",
        "amount": amount,
    }


async def test_a_shortfall_is_recharged_rounded_up_then_the_money_moves(
    client: httpx.AsyncClient, world: FakeWorld, member: Member
) -> None:
    (alice, headers), (bob, _) = member(5_000), member()
    response = await client.post("/remittance/request", json=to_member(alice, bob, 25_000), headers=headers)

    assert response.status_code == 200, response.text
    sent = response.json()
    assert (sent["status"], sent["rechargedAmount"], sent["reason"]) == ("SUCCEEDED", 20_000, None)
    rid = sent["remittanceRequestId"]
    assert [f"{rid}-recharge", f"{rid}-transfer"] == [t for t in world.applied if t.startswith(rid)]


async def test_a_remittance_to_a_bank_account_holds_pays_out_and_captures(
    client: httpx.AsyncClient, world: FakeWorld, member: Member
) -> None:
    (alice, headers) = member(50_000)
    world.bank_accounts.add(("SH", "220-555"))
    response = await client.post("/remittance/request", json=to_bank(alice, "SH", "220-555", 3_000), headers=headers)

    assert response.json()["status"] == "SUCCEEDED", response.text
    rid = response.json()["remittanceRequestId"]
    assert [t for t in world.applied if t.startswith(rid)] == [f"{rid}-hold", f"{rid}-capture"]
    assert world.payouts.count(f"{rid}-payout") == 1


async def test_a_payout_the_bank_refuses_releases_the_hold_and_the_remittance_fails(
    client: httpx.AsyncClient, world: FakeWorld, member: Member
) -> None:
    (alice, headers) = member(50_000)
    world.bank_accounts.add(("SH", "220-556"))
    world.payout_refusal = "bank-unavailable"
    try:
        response = await client.post(
            "/remittance/request", json=to_bank(alice, "SH", "220-556", 3_000), headers=headers
        )
    finally:
        world.payout_refusal = None

    assert (response.json()["status"], response.json()["reason"]) == ("FAILED", "bank-unavailable")
    rid = response.json()["remittanceRequestId"]
    assert [t for t in world.applied if t.startswith(rid)] == [f"{rid}-hold", f"{rid}-release"]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"amount": 0}, 422, "validation-error"),
        ({"amount": 100.5}, 422, "validation-error"),
        ({"amount": "100"}, 422, "validation-error"),
        ({"toBankName": "SH"}, 422, "validation-error"),
        ({"remittanceType": "BANK"}, 422, "validation-error"),
        ({"toMembershipId": "nobody"}, 404, "receiver-not-found"),
        ({"amount": DAILY_LIMIT + 1}, 422, "daily-limit-exceeded"),
    ],
)
async def test_bad_remittances_are_refused_and_nothing_is_sent(
    client: httpx.AsyncClient, world: FakeWorld, member: Member, change: dict[str, Any], status: int, code: str
) -> None:
    (alice, headers), (bob, _) = member(10**9), member()
    applied = len(world.applied)
    response = await client.post("/remittance/request", json=to_member(alice, bob, 1_000) | change, headers=headers)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert len(world.applied) == applied


async def test_the_sender_receiver_and_target_are_checked(
    client: httpx.AsyncClient, world: FakeWorld, member: Member
) -> None:
    (alice, headers), (bob, bob_headers), (carol, _) = member(10_000), member(), member()
    world.invalid_members.add(carol)
    cases = [
        (to_member(alice, alice, 1_000), headers, 422, "sending-to-oneself"),
        (to_member(alice, carol, 1_000), headers, 422, "receiver-invalid"),
        (to_member(alice, bob, 1_000), bob_headers, 403, "forbidden"),
        (to_bank(alice, "SH", "999-999", 1_000), headers, 422, "bank-account-unknown"),
        (to_member(carol, bob, 1_000), headers, 403, "forbidden"),
    ]
    for body, caller, status, code in cases:
        response = await client.post("/remittance/request", json=body, headers=caller)
        assert (response.status_code, response.json()["code"]) == (status, code), (body, response.text)


async def test_an_invalid_sender_is_refused_even_for_an_admin(
    client: httpx.AsyncClient, world: FakeWorld, member: Member, admin: dict[str, str]
) -> None:
    (carol, _), (bob, _) = member(10_000), member()
    world.invalid_members.add(carol)
    response = await client.post("/remittance/request", json=to_member(carol, bob, 1_000), headers=admin)
    assert (response.status_code, response.json()["code"]) == (422, "sender-invalid")


async def test_concurrent_remittances_never_pass_the_daily_limit_together(
    client: httpx.AsyncClient, member: Member
) -> None:
    (alice, headers), (bob, _) = member(10**9), member()
    answers = await asyncio.gather(
        *(client.post("/remittance/request", json=to_member(alice, bob, 300_000), headers=headers) for _ in range(10))
    )
    accepted = [answer for answer in answers if answer.status_code == 200]
    refused = [answer for answer in answers if answer.status_code != 200]
    assert len(accepted) == DAILY_LIMIT // 300_000
    assert {(answer.status_code, answer.json()["code"]) for answer in refused} == {(422, "daily-limit-exceeded")}


async def test_a_failed_remittance_no_longer_counts_toward_the_limit(
    client: httpx.AsyncClient, world: FakeWorld, member: Member
) -> None:
    (alice, headers), (bob, _) = member(10**9), member()
    world.refuse["TRANSFER"] = "recipient-deactivated"
    try:
        failed = await client.post("/remittance/request", json=to_member(alice, bob, DAILY_LIMIT), headers=headers)
    finally:
        del world.refuse["TRANSFER"]
    assert (failed.json()["status"], failed.json()["reason"]) == ("FAILED", "recipient-deactivated")
    again = await client.post("/remittance/request", json=to_member(alice, bob, DAILY_LIMIT), headers=headers)
    assert again.json()["status"] == "SUCCEEDED", again.text


async def test_the_same_key_answers_the_same_remittance_and_another_body_is_refused(
    client: httpx.AsyncClient, world: FakeWorld, member: Member
) -> None:
    (alice, headers), (bob, _) = member(100_000), member()
    keyed = headers | {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post("/remittance/request", json=to_member(alice, bob, 1_000), headers=keyed)
    again = await client.post("/remittance/request", json=to_member(alice, bob, 1_000), headers=keyed)
    other = await client.post("/remittance/request", json=to_member(alice, bob, 2_000), headers=keyed)

    assert again.json()["remittanceRequestId"] == first.json()["remittanceRequestId"]
    assert again.headers["idempotent-replayed"] == "true"
    assert (other.status_code, other.json()["code"]) == (409, "idempotency-key-reuse")
    rid = first.json()["remittanceRequestId"]
    assert [t for t in world.applied if t.startswith(rid)] == [f"{rid}-transfer"]


async def test_a_member_reads_only_the_remittances_it_sent_or_received(
    client: httpx.AsyncClient, member: Member
) -> None:
    (alice, alice_headers), (bob, bob_headers), (_, carol_headers) = member(100_000), member(), member()
    sent = (await client.post("/remittance/request", json=to_member(alice, bob, 1_000), headers=alice_headers)).json()
    url = f"/remittance/{sent['remittanceRequestId']}"
    assert (await client.get(url, headers=bob_headers)).json()["amount"] == 1_000
    assert (await client.get(url, headers=carol_headers)).status_code == 404
    assert (await client.get(f"{url}/money-transferring", headers=carol_headers)).status_code == 404
    history = (await client.get(f"/remittance/history/{bob}", headers=bob_headers)).json()
    assert [item["remittanceRequestId"] for item in history["items"]] == [sent["remittanceRequestId"]]
    assert (await client.get(f"/remittance/history/{alice}", headers=bob_headers)).status_code == 403


async def test_history_pages_newest_first(client: httpx.AsyncClient, member: Member) -> None:
    (alice, headers), (bob, _) = member(100_000), member()
    ids = [
        (await client.post("/remittance/request", json=to_member(alice, bob, amount), headers=headers)).json()[
            "remittanceRequestId"
        ]
        for amount in (1_000, 2_000, 3_000)
    ]
    first = (await client.get(f"/remittance/history/{alice}?limit=2", headers=headers)).json()
    rest = (
        await client.get(f"/remittance/history/{alice}?limit=2&cursor={first['nextCursor']}", headers=headers)
    ).json()
    assert [item["remittanceRequestId"] for item in first["items"] + rest["items"]] == ids[::-1]
    assert rest["nextCursor"] is None


async def test_a_remittance_interrupted_mid_saga_finishes_once_after_a_restart(
    remittance_app: Callable[..., FastAPI],
    client: httpx.AsyncClient,
    world: FakeWorld,
    member: Member,
    admin: dict[str, str],
) -> None:
    (alice, headers) = member(50_000)
    world.bank_accounts.add(("SH", "220-557"))
    keyed = headers | {"Idempotency-Key": str(uuid.uuid4())}
    body = to_bank(alice, "SH", "220-557", 3_000)
    world.silent.add("HOLD")
    async with serving(remittance_app(remittance_wait_seconds=0)) as stopping:
        started = await stopping.post("/remittance/request", json=body, headers=keyed)
    assert started.status_code == 202 and started.json()["status"] == "REQUESTED"
    # `pay reconcile` counts it as money still moving, and only admins and services may ask.
    assert (await client.get("/remittance/summary", headers=admin)).json()["unfinishedSagas"] >= 1
    assert (await client.get("/remittance/summary", headers=headers)).status_code == 403
    world.silent.clear()

    # Another instance resumes the saga from its row; a retry with the key waits for its outcome.
    finished = await client.post("/remittance/request", json=body, headers=keyed)
    assert finished.json()["status"] == "SUCCEEDED", finished.text
    rid = started.json()["remittanceRequestId"]
    assert [t for t in world.applied if t.startswith(rid)] == [f"{rid}-hold", f"{rid}-capture"]
    assert world.payouts.count(f"{rid}-payout") == 1
