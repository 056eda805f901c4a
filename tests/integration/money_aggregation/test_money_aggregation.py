"""The sum of a region's money, from a real membership and a real money: every member once, whatever the
page and batch boundaries; and no sum at all, but a 503, when either of them fails."""

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from money_aggregation_support import REGION_SIZES, Headers, Region
from pay.membership.domain.model import Member
from pay.platform import auth
from pay.platform.supervisor import free_port

from money_support import bearer
from support import listening, serving, token_for

PATH = "/money/aggregation/get-money-sum-by-address"


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def assert_unavailable(response: httpx.Response) -> None:
    assert_problem(response, 503, "downstream-unavailable")
    assert response.headers["retry-after"] == "2"
    assert "moneySum" not in response.json()


@pytest.mark.parametrize("size", REGION_SIZES)
async def test_every_member_of_a_region_is_summed_once(
    client: httpx.AsyncClient, regions: dict[int, Region], admin: Headers, size: int
) -> None:
    region = regions[size]

    response = await client.post(PATH, json={"address": region.address}, headers=admin)

    assert response.status_code == 200, response.text
    assert response.json() == {"address": region.address, "moneySum": region.money_sum, "memberCount": size}


@pytest.mark.parametrize("page_size", [37, 99, 100, 101])
async def test_no_member_is_dropped_or_repeated_at_a_page_boundary(
    aggregation_app: Callable[..., FastAPI], regions: dict[int, Region], admin: Headers, page_size: int
) -> None:
    async with serving(aggregation_app(aggregation_page_size=page_size, aggregation_concurrency=2)) as client:
        for size in (99, 100, 101, 250):
            response = await client.post(PATH, json={"address": regions[size].address}, headers=admin)
            assert response.json()["moneySum"] == regions[size].money_sum, (page_size, size)
            assert response.json()["memberCount"] == size, (page_size, size)


async def test_a_service_may_ask_and_a_member_may_not(
    client: httpx.AsyncClient, regions: dict[int, Region], data_dir: Path
) -> None:
    region = regions[1]
    service = bearer(token_for(data_dir, "gateway", auth.Role.SERVICE))
    member = bearer(token_for(data_dir, next(iter(region.balances)), auth.Role.MEMBER))

    assert (await client.post(PATH, json={"address": region.address}, headers=service)).json()["memberCount"] == 1
    assert_problem(await client.post(PATH, json={"address": region.address}, headers=member), 403, "forbidden")
    assert (await client.post(PATH, json={"address": region.address})).status_code == 401


async def test_a_region_nobody_lives_in_sums_to_nothing(client: httpx.AsyncClient, admin: Headers) -> None:
    response = await client.post(PATH, json={"address": f"nowhere-{uuid.uuid4().hex[:6]}"}, headers=admin)

    assert response.json()["moneySum"] == 0 and response.json()["memberCount"] == 0


async def test_a_region_named_like_a_path_step_is_asked_for_by_its_name(
    client: httpx.AsyncClient, membership: tuple[FastAPI, str], admin: Headers
) -> None:
    app, _ = membership
    async with app.state.membership.uow() as uow:
        member_id = str(uuid.uuid4())
        await uow.members.add(
            Member.register(member_id, "Lee", f"{member_id}@example.com", "..", False, "unused", datetime.now(UTC))
        )
        await uow.commit()

    response = await client.post(PATH, json={"address": ".."}, headers=admin)

    assert response.json()["memberCount"] == 1


@pytest.mark.parametrize(
    "body",
    [{}, {"address": ""}, {"address": "   "}, {"address": "x" * 101}, {"address": "a/b"}, {"address": 5}],
)
async def test_an_address_membership_cannot_hold_is_refused(
    client: httpx.AsyncClient, admin: Headers, body: dict[str, Any]
) -> None:
    assert_problem(await client.post(PATH, json=body, headers=admin), 422, "validation-error")


@pytest.mark.parametrize("down", ["membership", "money"])
async def test_membership_or_money_down_is_503(
    aggregation_app: Callable[..., FastAPI], regions: dict[int, Region], admin: Headers, down: str
) -> None:
    refusing = f"http://127.0.0.1:{free_port()}"
    async with serving(aggregation_app(service_urls={down: refusing})) as client:
        assert_unavailable(await client.post(PATH, json={"address": regions[250].address}, headers=admin))


def _failing_money(answers: Callable[[int, list[str]], Any]) -> FastAPI:
    app = FastAPI()
    calls = 0

    @app.post("/money/member-money")
    async def member_money(body: dict[str, list[str]]) -> Any:
        nonlocal calls
        calls += 1
        return await answers(calls, body["membershipIds"])

    return app


async def test_money_failing_on_one_batch_gives_no_partial_sum(
    aggregation_app: Callable[..., FastAPI], regions: dict[int, Region], admin: Headers
) -> None:
    region = regions[250]

    async def second_batch_fails(call: int, members: list[str]) -> list[dict[str, Any]]:
        if call == 2:
            raise HTTPException(500)
        return [{"membershipId": member, "balance": region.balances[member]} for member in members]

    async with (
        listening(_failing_money(second_batch_fails)) as money,
        serving(aggregation_app(service_urls={"money": money}, aggregation_concurrency=1)) as client,
    ):
        assert_unavailable(await client.post(PATH, json={"address": region.address}, headers=admin))


async def test_money_too_slow_to_answer_is_503(
    aggregation_app: Callable[..., FastAPI], regions: dict[int, Region], admin: Headers
) -> None:
    async def slow(_call: int, _members: list[str]) -> list[dict[str, Any]]:
        await asyncio.sleep(2)
        return []

    async with (
        listening(_failing_money(slow)) as money,
        serving(aggregation_app(service_urls={"money": money}, http_timeout_seconds=0.3)) as client,
    ):
        assert_unavailable(await client.post(PATH, json={"address": regions[1].address}, headers=admin))
