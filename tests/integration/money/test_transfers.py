"""Wallets and transfers: both sides or neither, never negative, never deadlocked, idempotent."""

import asyncio
import random
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pay.money.adapters.db import MoneyUnitOfWork

from money_support import FakeBanking, Member
from support import serving


async def balance(client: httpx.AsyncClient, member: Member) -> int:
    response = await client.get(f"/money/{member.membership_id}", headers=member.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["balance"])


async def send(
    client: httpx.AsyncClient, source: Member, target: Member, amount: Any, **headers: str
) -> httpx.Response:
    body = {"fromMembershipId": source.membership_id, "toMembershipId": target.membership_id, "amount": amount}
    return await client.post("/money/transfer", json=body, headers=source.headers | headers)


async def test_a_transfer_moves_money_between_two_wallets(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    alice, bob = await new_member(50_000, banking=banking), await new_member()
    response = await send(client, alice, bob, 20_000)
    assert response.status_code == 200
    assert response.json()["status"] == "SUCCEEDED" and response.json()["changingType"] == "TRANSFER"
    assert (await balance(client, alice), await balance(client, bob)) == (30_000, 20_000)


async def test_an_overdraft_is_refused_and_moves_nothing(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    alice, bob = await new_member(10_000, banking=banking), await new_member()
    response = await send(client, alice, bob, 10_001)
    assert response.status_code == 409 and response.json()["code"] == "insufficient-balance"
    assert (await balance(client, alice), await balance(client, bob)) == (10_000, 0)


@pytest.mark.parametrize("amount", [0, -1, 1.5, "100", 10**12 + 1, None])
async def test_bad_amounts_are_refused(client: httpx.AsyncClient, new_member: Callable[..., Any], amount: Any) -> None:
    alice, bob = await new_member(), await new_member()
    response = await send(client, alice, bob, amount)
    assert response.status_code == 422 and response.json()["code"] == "validation-error"


async def test_wallets_are_private_unknown_and_single(
    client: httpx.AsyncClient, new_member: Callable[..., Any], admin_headers: dict[str, str]
) -> None:
    alice, bob = await new_member(), await new_member()
    stranger = Member(str(uuid.uuid4()), alice.headers)
    stolen = await send(client, Member(bob.membership_id, alice.headers), alice, 1)
    assert stolen.status_code == 403
    assert (await client.get(f"/money/{bob.membership_id}", headers=alice.headers)).status_code == 403
    assert (await client.get(f"/money/{bob.membership_id}", headers=admin_headers)).status_code == 200
    unknown = await client.get(f"/money/{uuid.uuid4()}", headers=admin_headers)
    assert unknown.status_code == 404 and unknown.json()["code"] == "wallet-not-found"
    to_nobody = await send(client, alice, Member(str(uuid.uuid4()), {}), 1)
    assert to_nobody.status_code == 404
    assert (await send(client, alice, alice, 1)).json()["code"] == "same-wallet"
    # Ids with control characters never reach the database, where one would fail its whole group.
    assert (await send(client, alice, Member("bob\u0000", {}), 1)).status_code == 422
    again = await client.post(
        "/money/create-member-money", json={"membershipId": alice.membership_id}, headers=alice.headers
    )
    assert again.status_code == 409
    assert stranger.membership_id != alice.membership_id


async def test_the_same_idempotency_key_moves_money_once(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    alice, bob = await new_member(30_000, banking=banking), await new_member()
    key = str(uuid.uuid4())
    first = await send(client, alice, bob, 10_000, **{"Idempotency-Key": key})
    second = await send(client, alice, bob, 10_000, **{"Idempotency-Key": key})
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and second.headers["idempotent-replayed"] == "true"
    assert (await balance(client, alice), await balance(client, bob)) == (20_000, 10_000)
    reuse = await send(client, alice, bob, 5_000, **{"Idempotency-Key": key})
    assert reuse.status_code == 409 and reuse.json()["code"] == "idempotency-key-reuse"


async def test_a_key_sent_twice_at_once_moves_money_once(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    alice, bob = await new_member(30_000, banking=banking), await new_member()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    answers = await asyncio.gather(*(send(client, alice, bob, 10_000, **key) for _ in range(5)))
    done = [answer for answer in answers if answer.status_code == 200]
    assert {answer.json()["moneyChangingRequestId"] for answer in done} == {done[0].json()["moneyChangingRequestId"]}
    assert all(answer.json()["code"] == "idempotency-key-in-progress" for answer in answers if answer not in done)
    assert (await balance(client, alice), await balance(client, bob)) == (20_000, 10_000)
    assert (await send(client, alice, bob, 10_000, **key)).json() == done[0].json()


async def test_a_refused_transfer_is_replayed_as_refused_even_once_it_could_succeed(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    alice, bob = await new_member(1_000, banking=banking), await new_member(5_000, banking=banking)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    refused = await send(client, alice, bob, 2_000, **key)
    assert refused.status_code == 409 and refused.json()["code"] == "insufficient-balance"
    assert (await send(client, bob, alice, 5_000)).status_code == 200
    again = await send(client, alice, bob, 2_000, **key)
    assert again.status_code == 409 and again.json() == refused.json()
    assert again.headers["content-type"] == "application/problem+json"
    assert (await balance(client, alice), await balance(client, bob)) == (6_000, 0)


async def test_a_key_is_kept_only_together_with_its_effect(
    client: httpx.AsyncClient,
    new_member: Callable[..., Any],
    banking: FakeBanking,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice, bob = await new_member(10_000, banking=banking), await new_member()
    key = {"Idempotency-Key": str(uuid.uuid4())}

    async def lost_connection(*_: object) -> None:
        raise ConnectionError("the database went away mid-transaction")

    with monkeypatch.context() as patched:
        patched.setattr(MoneyUnitOfWork, "save_transfers", lost_connection)
        failed = await send(client, alice, bob, 4_000, **key)
    assert failed.status_code == 500
    retried = await send(client, alice, bob, 4_000, **key)
    assert retried.status_code == 200 and "idempotent-replayed" not in retried.headers
    assert (await balance(client, alice), await balance(client, bob)) == (6_000, 4_000)


async def test_the_transfer_endpoint_is_documented_and_answers_other_methods(client: httpx.AsyncClient) -> None:
    operation = (await client.get("/openapi.json")).json()["paths"]["/money/transfer"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/TransferMoneyRequest")
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/MoneyChangingRequest"
    )
    wrong_method = await client.put("/money/transfer")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method-not-allowed"


@pytest.mark.parametrize("path", ["/money/transfer", "/money/increase", "/money/decrease", "/money/member-money"])
async def test_a_read_of_a_path_that_only_takes_posts_is_the_wrong_method_even_without_a_token(
    client: httpx.AsyncClient, path: str
) -> None:
    wrong_method = await client.get(path)
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method-not-allowed"
    assert wrong_method.headers["allow"] == "POST"
    assert wrong_method.headers["content-type"] == "application/problem+json"


async def test_a_wallet_is_still_read_at_its_membership_id(
    client: httpx.AsyncClient, new_member: Callable[..., Any], admin_headers: dict[str, str]
) -> None:
    member = await new_member()
    assert (await client.get(f"/money/{member.membership_id}", headers=member.headers)).status_code == 200
    assert (await client.get("/money/transfers", headers=admin_headers)).json()["code"] == "wallet-not-found"
    documented = (await client.get("/openapi.json")).json()["paths"]
    assert "get" in documented["/money/{membership_id}"]


async def test_hundreds_of_opposite_transfers_conserve_the_total(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking, admin_headers: dict[str, str]
) -> None:
    members = [await new_member(100_000, banking=banking) for _ in range(3)]
    rng = random.Random(7)
    pairs = [rng.sample(members, 2) for _ in range(300)]
    responses = await asyncio.gather(*(send(client, a, b, rng.randint(1, 30_000)) for a, b in pairs))
    assert {response.status_code for response in responses} <= {200, 409}
    balances = [await balance(client, member) for member in members]
    assert sum(balances) == 300_000
    assert min(balances) >= 0
    moved = sum(1 for response in responses if response.status_code == 200)
    assert moved > 100


async def test_a_wallet_another_process_changed_is_read_again_never_overwritten(
    client: httpx.AsyncClient, money_app: Callable[..., FastAPI], new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    alice, bob = await new_member(10_000, banking=banking), await new_member()
    assert (await send(client, alice, bob, 1_000)).status_code == 200
    async with serving(money_app(wallet_balance_limit=1_000_000)) as other_process:
        assert (await send(other_process, alice, bob, 8_000)).status_code == 200
    # This process last saw alice at 9_000 and bob at 1_000: both guesses are outdated.
    overdraft = await send(client, alice, bob, 2_000)
    assert overdraft.status_code == 409 and overdraft.json()["code"] == "insufficient-balance"
    assert (await send(client, bob, alice, 8_500)).status_code == 200
    assert (await balance(client, alice), await balance(client, bob)) == (9_500, 500)


async def test_two_processes_moving_money_between_the_same_wallets_conserve_it(
    client: httpx.AsyncClient,
    money_app: Callable[..., FastAPI],
    new_member: Callable[..., Any],
    banking: FakeBanking,
    admin_headers: dict[str, str],
) -> None:
    members = [await new_member(100_000, banking=banking) for _ in range(4)]
    rng = random.Random(11)
    responses: list[httpx.Response] = []
    async with serving(money_app(wallet_balance_limit=1_000_000)) as other_process:
        for _ in range(20):  # in waves, so that each process often writes on what it saw before the other wrote
            responses += await asyncio.gather(
                *(
                    send(rng.choice([client, other_process]), source, target, rng.randint(1, 30_000))
                    for source, target in (rng.sample(members, 2) for _ in range(15))
                )
            )
    unexpected = [response.text for response in responses if response.status_code not in (200, 409)]
    assert not unexpected
    assert sum(1 for response in responses if response.status_code == 200) > 100
    balances = [await balance(client, member) for member in members]
    assert sum(balances) == 400_000 and min(balances) >= 0
    check = await client.get("/money/rebuild-check", headers=admin_headers)
    assert check.json()["differences"] == []


async def test_history_is_newest_first_and_paged(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    alice, bob = await new_member(10_000, banking=banking), await new_member()
    for amount in (100, 200, 300):
        await send(client, alice, bob, amount)
    first = (await client.get(f"/money/history/{alice.membership_id}?limit=2", headers=alice.headers)).json()
    assert [item["amount"] for item in first["items"]] == [-300, -200]
    rest = await client.get(
        f"/money/history/{alice.membership_id}?limit=2&cursor={first['nextCursor']}", headers=alice.headers
    )
    assert [item["amount"] for item in rest.json()["items"]] == [-100, 10_000]
    assert rest.json()["nextCursor"] is None
    future = await client.get(f"/money/history/{alice.membership_id}?from=2100-01-01T00:00:00Z", headers=alice.headers)
    assert future.json()["items"] == []


@pytest.mark.parametrize("cursor", ["2147483648", "9999999999", "99999999999"])
async def test_a_history_cursor_past_what_the_database_holds_is_invalid(
    client: httpx.AsyncClient, new_member: Callable[..., Any], cursor: str
) -> None:
    alice = await new_member()
    response = await client.get(f"/money/history/{alice.membership_id}?cursor={cursor}", headers=alice.headers)
    assert response.status_code == 422 and response.json()["code"] == "validation-error"
    largest = await client.get(f"/money/history/{alice.membership_id}?cursor=2147483647", headers=alice.headers)
    assert largest.status_code == 200


@pytest.mark.parametrize(
    "moment",
    ["0.5", "1700000000", "2026-12-02", "2026-12-02T09:00:00", "2026-12-02T09:00Z", "0001-01-01T00:43:00%2B17:09"],
)
async def test_a_history_bound_is_an_rfc_3339_date_time_with_its_offset(
    client: httpx.AsyncClient, new_member: Callable[..., Any], moment: str
) -> None:
    alice = await new_member()
    response = await client.get(f"/money/history/{alice.membership_id}?to={moment}", headers=alice.headers)
    assert response.status_code == 422 and response.json()["code"] == "validation-error"
    with_offset = await client.get(
        f"/money/history/{alice.membership_id}?to=2026-12-02T09:00:00.5%2B09:00", headers=alice.headers
    )
    assert with_offset.status_code == 200


async def test_a_transfer_with_the_wrong_method_is_405_even_with_an_idempotency_key(
    client: httpx.AsyncClient, new_member: Callable[..., Any]
) -> None:
    alice, bob = await new_member(), await new_member()
    body = {"fromMembershipId": alice.membership_id, "toMembershipId": bob.membership_id, "amount": 1}
    headers = alice.headers | {"Idempotency-Key": str(uuid.uuid4())}
    for _ in range(2):
        response = await client.put("/money/transfer", json=body, headers=headers)
        assert response.status_code == 405 and response.json()["code"] == "method-not-allowed"
        assert response.headers["content-type"] == "application/problem+json"
        assert "idempotent-replayed" not in response.headers, "a request no route answers claims no key"


async def test_money_moving_routes_declare_their_idempotency_key(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in ("/money/transfer", "/money/increase", "/money/increase-async", "/money/decrease"):
        operation = paths[path]["post"]
        assert "Idempotency-Key" in [parameter["name"] for parameter in operation["parameters"]], path
        assert {"401", "409", "413", "422", "503"} <= operation["responses"].keys(), path


async def test_batch_balances_are_for_services_and_admins(
    client: httpx.AsyncClient, new_member: Callable[..., Any], admin_headers: dict[str, str]
) -> None:
    alice, bob = await new_member(), await new_member()
    body = {"membershipIds": [alice.membership_id, bob.membership_id, "nobody"]}
    assert (await client.post("/money/member-money", json=body, headers=alice.headers)).status_code == 403
    found = (await client.post("/money/member-money", json=body, headers=admin_headers)).json()
    assert sorted(item["membershipId"] for item in found) == sorted([alice.membership_id, bob.membership_id])
