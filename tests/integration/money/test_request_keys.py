"""Recharges and withdrawals keep their Idempotency-Key in the transaction that starts them: one key
starts one request, whatever is retried, failed or raced; a retry answers what that request has come to."""

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pay.money.application import use_cases

from money_support import FakeBanking, Member
from support import serving


async def start(
    client: httpx.AsyncClient, member: Member, amount: int, key: str, path: str = "increase"
) -> httpx.Response:
    body = {"targetMembershipId": member.membership_id, "amount": amount}
    return await client.post(f"/money/{path}", json=body, headers=member.headers | {"Idempotency-Key": key})


async def balance(client: httpx.AsyncClient, member: Member) -> int:
    return int((await client.get(f"/money/{member.membership_id}", headers=member.headers)).json()["balance"])


async def ended(client: httpx.AsyncClient, member: Member, status_url: str) -> dict[str, Any]:
    for _ in range(100):
        found = dict((await client.get(status_url, headers=member.headers)).json())
        if found["status"] != "REQUESTED":
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{status_url} still running")


def started_at_the_bank(banking: FakeBanking, request_id: str) -> list[str]:
    return [transfer for transfer in banking.executed if transfer.startswith(request_id)]


async def test_the_same_key_twice_recharges_once(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    member = await new_member(banking=banking)
    key = str(uuid.uuid4())
    first = await start(client, member, 6_000, key)
    second = await start(client, member, 6_000, key)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and first.json()["status"] == "SUCCEEDED"
    assert second.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    request_id = first.json()["moneyChangingRequestId"]
    assert started_at_the_bank(banking, request_id) == [f"{request_id}-charge"]
    assert await balance(client, member) == 6_000


async def test_the_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    member = await new_member(banking=banking)
    key = str(uuid.uuid4())
    assert (await start(client, member, 6_000, key)).status_code == 200
    reuse = await start(client, member, 7_000, key)
    assert reuse.status_code == 409 and reuse.json()["code"] == "idempotency-key-reuse"
    assert await balance(client, member) == 6_000


async def test_a_retry_after_the_recharge_ended_answers_its_final_state(
    money_app: Callable[..., FastAPI], new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    member = await new_member(banking=banking)
    key = str(uuid.uuid4())
    async with serving(money_app(wallet_balance_limit=1_000_000, money_wait_seconds=0.2)) as impatient:
        banking.silent_times = 10**6
        try:
            first = await start(impatient, member, 4_000, key)
        finally:
            banking.silent_times = 0
        assert first.status_code == 202 and first.json()["status"] == "REQUESTED"
        assert first.headers["location"] == first.json()["statusUrl"]
        final = await ended(impatient, member, first.json()["statusUrl"])
        assert final["status"] == "SUCCEEDED"
        again = await start(impatient, member, 4_000, key)
        assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
        assert again.json() == final
        request_id = final["moneyChangingRequestId"]
        assert started_at_the_bank(banking, request_id) == [f"{request_id}-charge"]
        assert await balance(impatient, member) == 4_000


async def test_a_key_sent_many_times_at_once_starts_one_recharge(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    member = await new_member(banking=banking)
    key = str(uuid.uuid4())
    answers = await asyncio.gather(*(start(client, member, 3_000, key) for _ in range(5)))
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.json()["moneyChangingRequestId"] for answer in answers}) == 1
    assert sum("idempotent-replayed" in answer.headers for answer in answers) == 4
    assert await balance(client, member) == 3_000


async def test_a_failure_after_the_start_never_frees_the_key(
    client: httpx.AsyncClient,
    new_member: Callable[..., Any],
    banking: FakeBanking,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    member = await new_member(banking=banking)
    key = str(uuid.uuid4())

    async def lost_while_waiting(*_: object) -> None:
        raise ConnectionError("the process went away after the commit")

    with monkeypatch.context() as patched, pytest.raises(ConnectionError):
        patched.setattr(use_cases, "wait_for_request", lost_while_waiting)
        await start(client, member, 5_000, key)
    retried = await start(client, member, 5_000, key)
    assert retried.status_code == 200 and retried.headers["idempotent-replayed"] == "true"
    assert retried.json()["status"] == "SUCCEEDED"
    request_id = retried.json()["moneyChangingRequestId"]
    assert started_at_the_bank(banking, request_id) == [f"{request_id}-charge"]
    assert await balance(client, member) == 5_000


async def test_the_async_recharge_replays_the_answer_it_gave(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    member = await new_member(banking=banking)
    key = str(uuid.uuid4())
    first = await start(client, member, 2_000, key, path="increase-async")
    assert first.status_code == 202 and first.json()["status"] == "REQUESTED"
    await ended(client, member, first.json()["statusUrl"])
    again = await start(client, member, 2_000, key, path="increase-async")
    assert again.status_code == 202 and again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await balance(client, member) == 2_000


async def test_the_same_key_withdraws_once_and_a_refusal_stays_refused(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    member = await new_member(10_000, banking=banking)
    key = str(uuid.uuid4())
    first = await start(client, member, 4_000, key, path="decrease")
    second = await start(client, member, 4_000, key, path="decrease")
    assert first.json()["status"] == "SUCCEEDED" and second.json() == first.json()
    request_id = first.json()["moneyChangingRequestId"]
    assert started_at_the_bank(banking, request_id) == [f"{request_id}-payout"]
    assert await balance(client, member) == 6_000

    short = str(uuid.uuid4())
    refused = await start(client, member, 9_000, short, path="decrease")
    assert refused.status_code == 409 and refused.json()["code"] == "insufficient-balance"
    await start(client, member, 5_000, str(uuid.uuid4()))
    again = await start(client, member, 9_000, short, path="decrease")
    assert again.status_code == 409 and again.json() == refused.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await balance(client, member) == 11_000


async def test_a_request_refused_before_it_starts_leaves_its_key_unused(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    member, other = await new_member(banking=banking), await new_member(banking=banking)
    key = str(uuid.uuid4())
    forbidden = await start(client, Member(other.membership_id, member.headers), 1_000, key)
    assert forbidden.status_code == 403
    allowed = await start(client, member, 1_000, key)
    assert allowed.status_code == 200 and "idempotent-replayed" not in allowed.headers
