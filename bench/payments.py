"""Payments per second through the whole stack, against pgbench TPC-B on the same PostgreSQL.

Against a running `pay up`: registers members with a recharged wallet as a user would, and a corporate
member with F franchises (each settled to a bank account of its own), then C clients pay a random
franchise from their wallet (`POST /payment/request`, method WALLET, JWT + Idempotency-Key) for T seconds;
each request answers once the payment has been approved or has failed. Then pgbench runs TPC-B with the
same C and T on the same PostgreSQL. The last line is

    payments_per_s=… p50_ms=… p99_ms=… pgbench_tps=… ratio=… payment_rss_mb=…

Run it with `./pay bench payments` (see `--help`).
"""

import argparse
import asyncio
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import uvloop
from harness import (
    OPENING_BALANCE,
    PASSWORD,
    Member,
    drive,
    percentile,
    pgbench,
    prepare,
    rss_mb_listening_on,
)

from pay.platform.settings import Settings

import load


async def open_franchises(settings: Settings, count: int) -> list[str]:
    """A corporate member's `count` franchises at 3 %, each settled to a KB account the bank confirms."""
    email = f"bench-corp-{uuid.uuid4().hex[:12]}@example.com"
    membership = f"{settings.url_of('membership')}/membership"
    async with httpx.AsyncClient(timeout=30) as http:
        owner = (
            await http.post(
                f"{membership}/register",
                json={"name": "bench corp", "email": email, "address": "중구", "password": PASSWORD, "isCorp": True},
            )
        ).json()["membershipId"]
        token = (await http.post(f"{membership}/login", json={"email": email, "password": PASSWORD})).json()
        headers = {"Authorization": f"Bearer {token['jwtToken']}"}

        async def franchise(number: int) -> str:
            account = f"BENCH-F-{uuid.uuid4().hex[:12]}"
            opened = await http.post(
                f"{settings.url_of('bank')}/bank/accounts",
                json={"bankName": "KB", "bankAccountNumber": account, "holderName": "bench corp", "balance": 0},
            )
            opened.raise_for_status()
            registered = await http.post(
                f"{settings.url_of('franchise')}/franchise/register",
                json={
                    "ownerMembershipId": owner,
                    "name": f"bench shop {number}",
                    "contact": "02-000-0000",
                    "bankName": "KB",
                    "bankAccountNumber": account,
                    "feeRate": "3",
                },
                headers=headers,
            )
            registered.raise_for_status()
            return str(registered.json()["franchiseId"])

        opened_franchises: list[str] = []
        for start in range(0, count, 8):
            batch = range(start, min(start + 8, count))
            opened_franchises += await asyncio.gather(*(franchise(number) for number in batch))
        return opened_franchises


def payment(settings: Settings, members: list[Member], franchises: list[str]) -> Callable[[random.Random], bytes]:
    """A member pays up to 1,000 won at a franchise from its wallet, with its own Idempotency-Key."""
    host = f"{settings.host}:{settings.port_of('payment')}"

    def request(rng: random.Random) -> bytes:
        payer = rng.choice(members)
        body = orjson.dumps(
            {
                "requestMembershipId": payer.membership_id,
                "franchiseId": rng.choice(franchises),
                "requestPrice": rng.randint(1, 1_000),
                "method": "WALLET",
            }
        )
        return load.post(host, "/payment/request", body, payer.headers | {"Idempotency-Key": str(uuid.uuid4())})

    return request


def payment_status(status: int, body: bytes) -> str:
    """APPROVED or FAILED for a payment that ended, else the HTTP status (202: still under way)."""
    return str(orjson.loads(body)["status"]) if status == 200 else str(status)


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="pay bench payments", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", "-c", type=int, default=32)
    parser.add_argument("--seconds", "-t", type=int, default=20)
    parser.add_argument("--members", type=int, default=64)
    parser.add_argument("--franchises", type=int, default=100)
    parser.add_argument("--data-dir", type=Path, default=Path(".pay"))
    parser.add_argument("--port-offset", type=int, default=0)
    options = parser.parse_args(arguments)
    settings = Settings(data_dir=options.data_dir.resolve(), port_offset=options.port_offset)

    print(f"preparing {options.members} members with {OPENING_BALANCE:,} won each…", flush=True)
    members = asyncio.run(prepare(settings, options.members))
    print(f"opening {options.franchises} franchises…", flush=True)
    franchises = asyncio.run(open_franchises(settings, options.franchises))
    print(f"{options.clients} clients pay from their wallets for {options.seconds} s…", flush=True)
    load_of_payments = payment(settings, members, franchises)
    started = time.perf_counter()
    results = uvloop.run(
        drive(
            settings.host,
            settings.port_of("payment"),
            options.clients,
            options.seconds,
            load_of_payments,
            payment_status,
        )
    )
    elapsed = time.perf_counter() - started
    payment_rss = rss_mb_listening_on(settings.port_of("payment"))
    print(f"answers by outcome: {dict(sorted(results.outcomes.items()))}", flush=True)
    print(f"pgbench TPC-B, {options.clients} clients for {options.seconds} s…", flush=True)
    tps = pgbench(settings.data_dir, options.clients, options.seconds)

    payments_per_s = results.outcomes.get("APPROVED", 0) / elapsed
    p50 = percentile(results.latencies, 0.50) * 1000
    p99 = percentile(results.latencies, 0.99) * 1000
    print(
        f"payments_per_s={payments_per_s:.0f} p50_ms={p50:.1f} p99_ms={p99:.1f} "
        f"pgbench_tps={tps:.0f} ratio={payments_per_s / tps:.2f} payment_rss_mb={payment_rss:.0f}"
    )


if __name__ == "__main__":
    main()
