"""The query side under the transfer load, and the aggregation of a region of 10,000 members.

Against a running `pay up`:

1. Members for the transfer load are prepared as in `pay bench transfers`, and 8 **funders** the same way (each a
   real member whose 1,000,000 won came from a linked bank account by a real recharge).
2. The **bulk loader** puts `--region-members` members in one new region (`bench-region-<random>`), with wallets
   and balances, leaving the system as its own paths would:
   - membership's `members` rows are written by `COPY`, as its repository writes them (the email sealed and
     indexed with membership's own keys from the data directory, one argon2 hash of the bench password computed
     once for all: registering through the API costs a hash each, far too slow), and for each member the
     `MembershipRegistered` its outbox would have published goes on the broker;
   - money therefore opens each wallet itself, on its own event handler (wallet row, journal, `WalletChanged`);
   - each member's balance (1 to 800 won, from `--seed`) is a `TransferBetweenWallets` from one of the funders
     on the broker, money's own ledger command path: money writes the journal and `WalletChanged`, so
     `pay reconcile` and `pay money rebuild` stay consistent — no won enters the system but the funders'
     recharges. The loader waits until money's wallets hold the sum.
   - The query side hears all of it as it hears any member: the registrations and the wallet changes. The
     bench waits until its region sum equals what was loaded (`query_catchup_s`, from the last command sent).
3. The lag histogram of money-query (`pay_money_query_event_to_visible_seconds` on its `/metrics`: each applied
   event's time from its `occurredAt`/`changedAt` to the commit that makes it visible) is read; C clients send
   transfers for T seconds as `pay bench transfers` does; once money-query has applied everything, the
   histogram is read again. p50/p99 of the events applied in between come from its buckets (as PromQL's
   `histogram_quantile`: 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 750 ms, 1, 1.5, 2, 3, 5, 10, 30, 60 s).
4. Then, with no other load, `--aggregations` calls of `POST /money/aggregation/get-money-sum-by-address` for the
   region are timed one after another; each must sum to what was loaded over every member, and so must the
   query side's `GET /money/query/get-money-sum-by-address/{region}` afterwards.
5. pgbench TPC-B runs with the same C and T on the same PostgreSQL, and `pay reconcile` checks the system.

The last lines are

    transfers_per_s=… query_lag_p50_ms=… query_lag_p99_ms=… aggregation_10k_p50_ms=… aggregation_10k_p99_ms=…
    pgbench_tps=… load_s=… query_catchup_s=… money_query_rss_mb=…
    reconcile: clean | NOT clean

Run it with `./pay bench query` (see `--help`).
"""

import argparse
import asyncio
import base64
import math
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import uvloop
from argon2 import PasswordHasher
from harness import (
    OPENING_BALANCE,
    PASSWORD,
    Member,
    drive,
    percentile,
    pgbench,
    prepare,
    report_reconcile,
    rss_mb_listening_on,
)
from histogram import between, buckets, quantile
from settlement import admin_headers, broker_url
from transfers import transfer

from pay.contracts.membership import MembershipRegistered
from pay.contracts.money import TransferBetweenWallets
from pay.membership.adapters.db import EMAIL_FORM
from pay.membership.adapters.security import EmailVault
from pay.membership.settings import MembershipSettings
from pay.platform.auth import load_or_create_secret
from pay.platform.broker import Broker
from pay.platform.infra import EmbeddedPostgres
from pay.platform.settings import Settings

FUNDERS = 8
LAG_HISTOGRAM = "pay_money_query_event_to_visible_seconds"
MEMBER_COLUMNS = (
    "membership_id", "name", "email_sealed", "email_index", "address", "is_valid", "is_corp", "role",
    "password_hash", "created_at", "updated_at", "email_form",
)  # fmt: skip
PUBLISHED_AT_ONCE = 500


@dataclass
class Region:
    address: str
    balances: dict[str, int]

    @property
    def money_sum(self) -> int:
        return sum(self.balances.values())


def email_vault(settings: Settings) -> EmailVault:
    """Membership's own keys, as its composition root finds them: from the environment, else the data directory."""
    membership = MembershipSettings(data_dir=settings.data_dir, port_offset=settings.port_offset)

    def secret(from_environment: str | None, file_name: str) -> bytes:
        return (
            base64.b64decode(from_environment)
            if from_environment
            else load_or_create_secret(membership.keys_dir / file_name)
        )

    return EmailVault(
        secret(membership.email_encryption_key, "membership-email.key"),
        secret(membership.email_index_key, "membership-email-index.key"),
    )


def region_of(members: int, funders: int, seed: int) -> Region:
    """Balances such that no funder gives more than the 1,000,000 won it holds."""
    rng = random.Random(seed)
    most = OPENING_BALANCE // math.ceil(members / funders)
    address = f"bench-region-{uuid.uuid4().hex[:10]}"
    return Region(address, {str(uuid.uuid4()): rng.randint(1, most) for _ in range(members)})


async def in_groups(calls: Sequence[Awaitable[None]]) -> None:
    for start in range(0, len(calls), PUBLISHED_AT_ONCE):
        await asyncio.gather(*calls[start : start + PUBLISHED_AT_ONCE])


async def waiting_for(condition: str, probe: Callable[[], Awaitable[bool]], seconds: float = 600) -> float:
    """Seconds until `probe` holds, polled twice a second."""
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        if await probe():
            return time.perf_counter() - started
        await asyncio.sleep(0.5)
    raise SystemExit(f"gave up after {seconds:.0f} s waiting for {condition}")


async def load_region(settings: Settings, region: Region, funders: list[Member]) -> float:
    """The bulk loader (see the module's docstring); the seconds from the last command sent until the query side
    shows the region whole."""
    vault = email_vault(settings)
    password_hash = PasswordHasher().hash(PASSWORD)
    now = datetime.now(UTC)
    rows = []
    for number, membership_id in enumerate(region.balances):
        email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
        rows.append(
            (membership_id, f"bench {number}", vault.encrypt(email, membership_id), vault.index(email),
             region.address, True, False, "member", password_hash, now, now, EMAIL_FORM)
        )  # fmt: skip
    ids = list(region.balances)
    postgres = EmbeddedPostgres(settings.data_dir).start()  # adopts the server `pay up` runs
    membership = await asyncpg.connect(postgres.dsn("pay_membership"))
    money = await asyncpg.connect(postgres.dsn("pay_money"))
    broker = Broker(broker_url(settings.data_dir), "bench-query")
    await broker.start()
    try:
        await membership.copy_records_to_table("members", records=rows, columns=MEMBER_COLUMNS)
        await in_groups(
            [
                broker.publish_message(
                    MembershipRegistered(
                        membership_id=membership_id,
                        address=region.address,
                        is_valid=True,
                        is_corp=False,
                        occurred_at=now,
                    )
                )
                for membership_id in ids
            ]
        )

        async def opened() -> bool:
            count = await money.fetchval("SELECT count(*) FROM wallets WHERE membership_id = ANY($1::text[])", ids)
            return bool(count == len(ids))

        await waiting_for("money to open the region's wallets", opened)
        await in_groups(
            [
                broker.publish_message(
                    TransferBetweenWallets(
                        ledger_transaction_id=f"bench-fund-{uuid.uuid4().hex}",
                        from_membership_id=funders[number % len(funders)].membership_id,
                        to_membership_id=membership_id,
                        amount=amount,
                    )
                )
                for number, (membership_id, amount) in enumerate(region.balances.items())
            ]
        )
        sent = time.perf_counter()

        async def funded() -> bool:
            held = await money.fetchval(
                "SELECT coalesce(sum(balance), 0) FROM wallets WHERE membership_id = ANY($1::text[])", ids
            )
            return bool(held == region.money_sum)

        await waiting_for("money to credit the region's wallets", funded)
    finally:
        await broker.stop()
        await membership.close()
        await money.close()
    async with httpx.AsyncClient(timeout=60) as http:
        admin = await admin_headers(http, settings)
        await waiting_for("the query side to show the region", lambda: query_agrees(http, settings, admin, region))
    return time.perf_counter() - sent


async def query_agrees(http: httpx.AsyncClient, settings: Settings, admin: dict[str, str], region: Region) -> bool:
    url = f"{settings.url_of('money-query')}/money/query/get-money-sum-by-address/{region.address}"
    answer = (await http.get(url, headers=admin)).json()
    return bool(answer["moneySum"] == region.money_sum and answer["memberCount"] == len(region.balances))


async def settled_metrics(settings: Settings) -> str:
    """Money-query's `/metrics` once it has applied every event sent so far: its count of applied events
    stood still for a second."""
    async with httpx.AsyncClient(timeout=60) as http:
        admin = await admin_headers(http, settings)
        url = settings.url_of("money-query")
        last = -1

        async def still() -> bool:
            nonlocal last
            applied = int((await http.get(f"{url}/money/query/status", headers=admin)).json()["eventsApplied"])
            if applied == last:
                return True
            last = applied
            await asyncio.sleep(0.5)
            return False

        await waiting_for("money-query to apply every event", still)
        return (await http.get(f"{url}/metrics")).text


async def aggregate(settings: Settings, region: Region, calls: int) -> list[float]:
    """Seconds per aggregation of the region, one call after another; each must give the whole region."""
    latencies = []
    async with httpx.AsyncClient(timeout=120) as http:
        admin = await admin_headers(http, settings)
        url = f"{settings.url_of('money-aggregation')}/money/aggregation/get-money-sum-by-address"
        for _ in range(calls):
            started = time.perf_counter()
            answer = await http.post(url, json={"address": region.address}, headers=admin)
            latencies.append(time.perf_counter() - started)
            answer.raise_for_status()
            found = answer.json()
            if (found["moneySum"], found["memberCount"]) != (region.money_sum, len(region.balances)):
                raise SystemExit(f"the aggregation gave {found}, not {region.money_sum:,} over {len(region.balances)}")
        if not await query_agrees(http, settings, admin, region):
            raise SystemExit("the query side's sum of the region no longer equals what was loaded")
    return latencies


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="pay bench query", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", "-c", type=int, default=32)
    parser.add_argument("--seconds", "-t", type=int, default=20)
    parser.add_argument("--members", type=int, default=64, help="members sending each other transfers")
    parser.add_argument("--region-members", type=int, default=10_000)
    parser.add_argument("--aggregations", type=int, default=20, help="aggregation calls timed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=Path(".pay"))
    parser.add_argument("--port-offset", type=int, default=0)
    options = parser.parse_args(arguments)
    settings = Settings(data_dir=options.data_dir.resolve(), port_offset=options.port_offset)

    print(f"preparing {options.members} members and {FUNDERS} funders with {OPENING_BALANCE:,} won each…", flush=True)
    prepared = asyncio.run(prepare(settings, options.members + FUNDERS))
    members, funders = prepared[: options.members], prepared[options.members :]
    region = region_of(options.region_members, FUNDERS, options.seed)
    print(f"loading {options.region_members:,} members into {region.address} ({region.money_sum:,} won)…", flush=True)
    started = time.perf_counter()
    catchup_s = asyncio.run(load_region(settings, region, funders))
    load_s = time.perf_counter() - started
    print(f"loaded in {load_s:.1f} s; the query side showed it {catchup_s:.1f} s after the last command", flush=True)

    before = buckets(asyncio.run(settled_metrics(settings)), LAG_HISTOGRAM)
    print(f"{options.clients} clients send transfers for {options.seconds} s…", flush=True)
    started = time.perf_counter()
    results = uvloop.run(
        drive(
            settings.host,
            settings.port_of("money"),
            options.clients,
            options.seconds,
            transfer(settings, settings.port_of("money"), members),
        )
    )
    elapsed = time.perf_counter() - started
    lag = between(before, buckets(asyncio.run(settled_metrics(settings)), LAG_HISTOGRAM))
    query_rss = rss_mb_listening_on(settings.port_of("money-query"))
    print(f"answers by status: {dict(sorted(results.outcomes.items()))}; events applied meanwhile: "
          f"{lag[math.inf]:.0f}", flush=True)  # fmt: skip

    print(f"{options.aggregations} aggregations of {region.address}, one after another…", flush=True)
    aggregations = asyncio.run(aggregate(settings, region, options.aggregations))
    print(f"pgbench TPC-B, {options.clients} clients for {options.seconds} s…", flush=True)
    tps = pgbench(settings.data_dir, options.clients, options.seconds)

    size = f"{options.region_members // 1000}k" if options.region_members % 1000 == 0 else str(options.region_members)
    print(
        f"transfers_per_s={results.outcomes.get('200', 0) / elapsed:.0f} "
        f"query_lag_p50_ms={quantile(lag, 0.50) * 1000:.0f} query_lag_p99_ms={quantile(lag, 0.99) * 1000:.0f} "
        f"aggregation_{size}_p50_ms={percentile(aggregations, 0.50) * 1000:.0f} "
        f"aggregation_{size}_p99_ms={percentile(aggregations, 0.99) * 1000:.0f} "
        f"pgbench_tps={tps:.0f} load_s={load_s:.1f} query_catchup_s={catchup_s:.1f} "
        f"money_query_rss_mb={query_rss:.0f}",
        flush=True,
    )
    report_reconcile(settings.data_dir, options.port_offset)


if __name__ == "__main__":
    main()
