"""Settlement runs against real PostgreSQL and NATS: each payment settled once, whatever the runs (SPEC
"Settlement"); payment, franchise, money and banking answer as the fake world tells them."""

import asyncio
import csv
import io
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from pay.contracts.settlement import SettlementLineFailed, SettlementLinePaid
from pay.platform.db import outbox
from pay.settlement.adapters.tables import settlements
from settlement_support import SEOUL, FakeWorld, fresh_days

from support import serving

Headers = dict[str, str]


def period(first: date, last: date) -> dict[str, str]:
    return {"from": first.isoformat(), "to": last.isoformat()}


async def run(
    client: httpx.AsyncClient, admin: Headers, first: date, last: date, seconds: float = 30
) -> dict[str, Any]:
    """Start a run and wait until it has ended."""
    started = await client.post("/settlement/start", json=period(first, last), headers=admin)
    assert started.status_code == 202, started.text
    return await ended(client, admin, started.json()["settlementId"], seconds)


async def ended(client: httpx.AsyncClient, admin: Headers, settlement_id: str, seconds: float = 30) -> dict[str, Any]:
    for _ in range(int(seconds * 10)):
        found = (await client.get(f"/settlement/{settlement_id}", headers=admin)).json()
        if found["status"] != "RUNNING":
            return dict(found)
        await asyncio.sleep(0.1)
    raise AssertionError(f"settlement {settlement_id} still running: {found}")


def line_of(settlement: dict[str, Any], franchise_id: str) -> dict[str, Any]:
    (line,) = [line for line in settlement["lines"] if line["franchiseId"] == franchise_id]
    return dict(line)


def sums(line: dict[str, Any]) -> tuple[int, ...]:
    return line["gross"], line["fee"], line["owed"], line["payout"], line["carried"], line["paymentCount"]


async def test_a_run_pays_each_franchise_gross_less_fee_once(
    client: httpx.AsyncClient, world: FakeWorld, admin: Headers
) -> None:
    d1, d2, d3, *_ = fresh_days()
    shop, cafe = world.franchise(), world.franchise()
    a = world.pay(shop, 10_000, 300, d1)
    b = world.pay(shop, 20_000, 600, d2)
    world.refund(b, 5_000)  # before settlement: the payable already gave it back
    c = world.pay(cafe, 7_000, 210, d2)
    outside = world.pay(shop, 50_000, 1_500, d3)
    failed = world.pay(cafe, 9_000, 270, d1, status="FAILED")

    settled = await run(client, admin, d1, d2)

    assert settled["status"] == "SUCCEEDED", settled
    assert (settled["from"], settled["to"]) == (d1.isoformat(), d2.isoformat())
    assert sums(line_of(settled, shop)) == (25_000, 900, 0, 24_100, 0, 2)
    assert sums(line_of(settled, cafe)) == (7_000, 210, 0, 6_790, 0, 1)
    assert {line["status"] for line in settled["lines"]} == {"SUCCEEDED"}
    sid = settled["settlementId"]
    assert world.paid_out == {f"{sid}-{shop}-payout": 24_100, f"{sid}-{cafe}-payout": 6_790} | {
        transfer: amount for transfer, amount in world.paid_out.items() if not transfer.startswith(sid)
    }
    assert world.settled[f"{sid}-{shop}-settle"] == (900, 24_100)
    # Money's payable of each franchise is what it had less fee and payout: only the unsettled payment is left.
    assert (world.payable[shop], world.payable[cafe]) == (50_000, 0)
    assert [world.payments[p]["status"] for p in (a, b, c, outside, failed)] == [
        "SETTLED", "SETTLED", "SETTLED", "APPROVED", "FAILED",
    ]  # fmt: skip
    assert world.payments[a]["settlementId"] == sid

    report = await client.get(f"/settlement/{sid}/report.csv", headers=admin)
    assert report.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert sorted((row["paymentId"], row["price"], row["refunded"], row["fee"]) for row in rows) == sorted(
        [(a, "10000", "0", "300"), (b, "20000", "5000", "600"), (c, "7000", "0", "210")]
    )
    assert {row["settlementId"] for row in rows} == {sid}

    # The same period again settles nothing more.
    again = await run(client, admin, d1, d2)
    assert (again["status"], again["lines"]) == ("SUCCEEDED", [])
    assert world.paid_to(shop) == 24_100 and world.paid_to(cafe) == 6_790

    listed = (await client.get(f"/settlement?franchiseId={shop}", headers=admin)).json()
    assert [item["settlementId"] for item in listed["items"]] == [sid]
    assert [line["franchiseId"] for line in listed["items"][0]["lines"]] == [shop]


async def test_a_refund_after_settlement_is_netted_by_the_next_run_and_carried_past_zero(
    client: httpx.AsyncClient, world: FakeWorld, admin: Headers
) -> None:
    d1, d2, d3, *_ = fresh_days()
    shop = world.franchise()
    first = world.pay(shop, 10_000, 300, d1)
    assert line_of(await run(client, admin, d1, d1), shop)["payout"] == 9_700
    world.refund(first, 8_000)  # after settlement: the franchise owes it

    world.pay(shop, 5_000, 150, d2)
    second = await run(client, admin, d2, d2)
    assert sums(line_of(second, shop)) == (5_000, 150, 8_000, 0, 3_150, 1)
    assert line_of(second, shop)["status"] == "SUCCEEDED"
    assert f"{second['settlementId']}-{shop}-payout" not in world.paid_out
    assert world.payable[shop] == -3_150  # what is carried is what the franchise owes at money

    world.pay(shop, 10_000, 300, d3)
    third = await run(client, admin, d3, d3)
    assert sums(line_of(third, shop)) == (10_000, 300, 3_150, 6_550, 0, 1)
    assert world.payable[shop] == 0
    assert world.paid_to(shop) == 9_700 + 6_550
    assert all(refund["deductedBySettlementId"] == second["settlementId"] for refund in world.refunds.values()
               if refund["franchiseId"] == shop)  # fmt: skip


async def test_a_refused_payout_fails_the_line_takes_no_fee_and_starting_again_pays_once(
    client: httpx.AsyncClient, world: FakeWorld, admin: Headers
) -> None:
    d1, *_ = fresh_days()
    frozen, fine = world.franchise(), world.franchise()
    payment = world.pay(frozen, 10_000, 300, d1)
    world.pay(fine, 1_000, 30, d1)
    world.refusing[world.account_of(frozen)] = "account frozen"

    failed = await run(client, admin, d1, d1)

    assert failed["status"] == "PARTIALLY_FAILED"
    assert (line_of(failed, frozen)["status"], line_of(failed, frozen)["reason"]) == ("FAILED", "account frozen")
    assert line_of(failed, fine)["status"] == "SUCCEEDED"
    assert not [t for t in world.settled if t.startswith(f"{failed['settlementId']}-{frozen}")]  # no fee taken
    assert world.payable[frozen] == 10_000 and world.revenue >= 30
    assert world.payments[payment]["status"] == "APPROVED"
    report = (await client.get(f"/settlement/{failed['settlementId']}/report.csv", headers=admin)).text
    assert payment not in report

    del world.refusing[world.account_of(frozen)]
    retried = await run(client, admin, d1, d1)
    assert [line["franchiseId"] for line in retried["lines"]] == [frozen]  # only what is unsettled
    assert retried["status"] == "SUCCEEDED" and world.paid_to(frozen) == 9_700 and world.paid_to(fine) == 970
    assert world.payments[payment]["settlementId"] == retried["settlementId"]


async def test_concurrent_overlapping_runs_never_settle_a_payment_twice(
    settlement_app: Callable[..., FastAPI], client: httpx.AsyncClient, world: FakeWorld, admin: Headers
) -> None:
    days = fresh_days(4)
    shops = [world.franchise() for _ in range(3)]
    expected = {shop: 0 for shop in shops}
    for index in range(24):
        shop, day = shops[index % 3], days[index % 4]
        world.pay(shop, 1_000 + index, 10, day)
        expected[shop] += 1_000 + index - 10
    periods = [(days[0], days[2]), (days[1], days[3]), (days[0], days[3]), (days[2], days[2]), (days[0], days[3])]

    # Two instances of the service, each with its own timer, take the runs at the same time.
    async with serving(settlement_app()) as other:
        started = await asyncio.gather(
            *(
                (client if index % 2 else other).post("/settlement/start", json=period(*p), headers=admin)
                for index, p in enumerate(periods)
            )
        )
        finished = [await ended(client, admin, answer.json()["settlementId"], 60) for answer in started]

    assert {run["status"] for run in finished} == {"SUCCEEDED"}
    counted = [line["paymentCount"] for run in finished for line in run["lines"]]
    assert sum(counted) == 24
    assert {shop: world.paid_to(shop) for shop in shops} == expected
    assert all(world.payable[shop] == 0 for shop in shops)
    rows = []
    for run in finished:
        report = (await client.get(f"/settlement/{run['settlementId']}/report.csv", headers=admin)).text
        rows += [row["paymentId"] for row in csv.DictReader(io.StringIO(report))]
    assert len(rows) == len(set(rows)) == 24


async def test_a_run_interrupted_mid_saga_finishes_once_after_a_restart(
    settlement_app: Callable[..., FastAPI], client: httpx.AsyncClient, world: FakeWorld, admin: Headers
) -> None:
    d1, *_ = fresh_days()
    shop = world.franchise()
    world.pay(shop, 10_000, 300, d1)
    world.money_silent = True
    world.payment_down = True
    try:
        async with serving(settlement_app()) as stopping:
            started = await stopping.post("/settlement/start", json=period(d1, d1), headers=admin)
            sid = started.json()["settlementId"]
            for _ in range(300):
                if f"{sid}-{shop}-payout" in world.paid_out:
                    break
                await asyncio.sleep(0.1)
        assert (await client.get(f"/settlement/{sid}", headers=admin)).json()["status"] == "RUNNING"
        # `pay reconcile` may ask whether money is still moving; only admins and services may.
        assert (await client.get("/settlement/summary", headers=admin)).json()["pendingLines"] >= 1
        world.money_silent = False
        # Money answers now, payment not yet: the line waits for payment and asks again.
        for _ in range(300):
            if f"{sid}-{shop}-settle" in world.settled:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)
        assert (await client.get(f"/settlement/{sid}", headers=admin)).json()["status"] == "RUNNING"
    finally:
        world.money_silent = world.payment_down = False

    settled = await ended(client, admin, sid)
    assert line_of(settled, shop)["status"] == "SUCCEEDED"
    assert world.paid_to(shop) == 9_700 and world.payable[shop] == 0
    assert [t for t in world.settled if t.startswith(f"{sid}-{shop}")] == [f"{sid}-{shop}-settle"]


@pytest.mark.parametrize(
    "body",
    [
        {"from": "2026-12-02", "to": "2026-12-01"},
        {"from": "2026-11-01", "to": "2026-12-02"},
        {"from": "2026-13-01", "to": "2026-12-01"},
        {"from": "2026-12-01"},
        {"from": 1764547200, "to": "2026-12-01"},
        {"from": "2026-12-01T00:00:00Z", "to": "2026-12-01"},
        {"from": "2026-12-01", "to": "2026-12-01", "extra": 1},
    ],
)
async def test_a_bad_period_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, world: FakeWorld, admin: Headers, database_url: str, body: dict[str, Any]
) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            before = (await connection.execute(sa.select(sa.func.count()).select_from(settlements))).scalar_one()
        response = await client.post("/settlement/start", json=body, headers=admin)
        assert (response.status_code, response.json()["code"]) == (422, "validation-error"), response.text
        async with engine.connect() as connection:
            after = (await connection.execute(sa.select(sa.func.count()).select_from(settlements))).scalar_one()
    finally:
        await engine.dispose()
    assert after == before


async def test_only_admins_services_and_the_owner_may_ask(
    client: httpx.AsyncClient, world: FakeWorld, admin: Headers, member: Callable[[str], Headers]
) -> None:
    d1, *_ = fresh_days()
    shop = world.franchise(owner="alice")
    world.pay(shop, 1_000, 30, d1)
    settled = await run(client, admin, d1, d1)
    sid = settled["settlementId"]
    alice, bob = member("alice"), member("bob")

    assert (await client.post("/settlement/start", json=period(d1, d1), headers=alice)).status_code == 403
    assert (await client.get(f"/settlement/{sid}", headers=alice)).status_code == 403
    assert (await client.get(f"/settlement/{sid}/report.csv", headers=alice)).status_code == 403
    assert (await client.get("/settlement/summary", headers=alice)).status_code == 403
    assert (await client.get(f"/settlement?franchiseId={shop}", headers=bob)).status_code == 403
    assert (await client.post("/settlement/start", json=period(d1, d1))).status_code == 401
    owned = (await client.get(f"/settlement?franchiseId={shop}", headers=alice)).json()
    assert [item["settlementId"] for item in owned["items"]] == [sid]
    unknown = await client.get("/settlement?franchiseId=nobody", headers=alice)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "franchise-not-found")
    missing = await client.get("/settlement/st-nothing", headers=admin)
    assert (missing.status_code, missing.json()["code"]) == (404, "settlement-not-found")


async def test_the_same_key_starts_one_run(client: httpx.AsyncClient, world: FakeWorld, admin: Headers) -> None:
    d1, *_ = fresh_days()
    keyed = admin | {"Idempotency-Key": "settle-once"}
    first = await client.post("/settlement/start", json=period(d1, d1), headers=keyed)
    again = await client.post("/settlement/start", json=period(d1, d1), headers=keyed)
    other = await client.post("/settlement/start", json=period(d1, d1 + timedelta(days=1)), headers=keyed)
    assert first.status_code == again.status_code == 202
    assert again.json()["settlementId"] == first.json()["settlementId"]
    assert (other.status_code, other.json()["code"]) == (409, "idempotency-key-reuse")
    await ended(client, admin, first.json()["settlementId"])


async def test_an_unknown_franchise_fails_its_line_and_gives_its_payments_back(
    client: httpx.AsyncClient, world: FakeWorld, admin: Headers
) -> None:
    d1, *_ = fresh_days()
    shop = world.franchise()
    payment = world.pay(shop, 1_000, 30, d1)
    del world.franchises[shop]

    failed = await run(client, admin, d1, d1)

    assert failed["status"] == "FAILED"
    assert (line_of(failed, shop)["status"], line_of(failed, shop)["reason"]) == ("FAILED", "franchise-not-found")
    assert world.payments[payment]["status"] == "APPROVED" and world.paid_to(shop) == 0
    report = (await client.get(f"/settlement/{failed['settlementId']}/report.csv", headers=admin)).text
    assert report.strip() == "settlementId,franchiseId,paymentId,price,refunded,fee"


async def test_the_schedule_settles_the_previous_business_day_on_the_saga_timer(
    settlement_app: Callable[..., FastAPI],
    client: httpx.AsyncClient,
    world: FakeWorld,
    admin: Headers,
    database_url: str,
) -> None:
    yesterday = datetime.now(SEOUL).date() - timedelta(days=1)
    shop = world.franchise()
    world.pay(shop, 2_000, 60, yesterday)
    engine = create_async_engine(database_url)
    try:
        async with serving(settlement_app(settlement_schedule="daily@00:00")):
            # The schedule's saga waits for tomorrow's run; make it due now, for yesterday.
            async with engine.begin() as connection:
                await connection.execute(
                    sa.text(
                        "UPDATE sagas SET wake_at = now(),"
                        " data = jsonb_set(data, '{nextDay}', to_jsonb(CAST(:day AS text)))"
                        " WHERE saga_id = 'settlement-schedule' AND data->>'schedule' = 'daily@00:00'"
                    ),
                    {"day": yesterday.isoformat()},
                )
            sid = f"st-d{yesterday:%Y%m%d}"
            for _ in range(100):
                if (await client.get(f"/settlement/{sid}", headers=admin)).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            settled = await ended(client, admin, sid)
            async with engine.connect() as connection:
                row = (
                    await connection.execute(
                        sa.text("SELECT wake_at, data FROM sagas WHERE saga_id = 'settlement-schedule'")
                    )
                ).one()
    finally:
        await engine.dispose()

    assert (settled["from"], settled["to"]) == (yesterday.isoformat(), yesterday.isoformat())
    assert line_of(settled, shop)["payout"] == 1_940
    assert row.data["nextDay"] == (yesterday + timedelta(days=1)).isoformat()
    assert row.wake_at == datetime.combine(yesterday + timedelta(days=2), datetime.min.time(), tzinfo=SEOUL)


async def test_how_each_line_ended_is_told_once_in_the_transaction_that_ended_it(
    client: httpx.AsyncClient, world: FakeWorld, admin: Headers, database_url: str
) -> None:
    d1, *_ = fresh_days()
    frozen, fine = world.franchise(), world.franchise()
    world.pay(frozen, 10_000, 300, d1)
    world.pay(fine, 1_000, 30, d1)
    world.refusing[world.account_of(frozen)] = "account frozen"
    try:
        settlement_id = (await run(client, admin, d1, d1))["settlementId"]
    finally:
        del world.refusing[world.account_of(frozen)]

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.select(outbox.c.subject, outbox.c.payload)
                .where(outbox.c.payload["settlementId"].astext == settlement_id)
                .order_by(outbox.c.position)
            )
            told = {payload["line"]["franchiseId"]: (subject, payload["line"]) for subject, payload in rows}
    finally:
        await engine.dispose()
    assert set(told) == {frozen, fine}
    assert (told[frozen][0], told[frozen][1]["reason"]) == (SettlementLineFailed.subject, "account frozen")
    assert (told[fine][0], told[fine][1]["payout"], told[fine][1]["status"]) == (
        SettlementLinePaid.subject,
        970,
        "SUCCEEDED",
    )
