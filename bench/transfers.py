"""Transfers per second through the whole stack, against pgbench TPC-B on the same PostgreSQL.

Against a running `pay up`: registers members, gives each a balance the way a user would (a linked
bank account and a recharge), then C clients send `POST /money/transfer` (JWT + Idempotency-Key) for
T seconds. Then pgbench runs TPC-B with the same C and T on the same PostgreSQL. The last line is

    transfers_per_s=… p50_ms=… p99_ms=… pgbench_tps=… ratio=… money_rss_mb=…

Run it with `./pay bench transfers` (see `--help`).
"""

import argparse
import asyncio
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson
import uvloop
from harness import OPENING_BALANCE, Member, drive, percentile, pgbench, prepare, rss_mb_listening_on

from pay.platform.settings import Settings

import load


def transfer(settings: Settings, members: list[Member]) -> Callable[[random.Random], bytes]:
    """A transfer of up to 1,000 won between two members, each request with its own Idempotency-Key."""
    host = f"{settings.host}:{settings.port_of('money')}"

    def request(rng: random.Random) -> bytes:
        source, target = rng.sample(members, 2)
        body = orjson.dumps(
            {
                "fromMembershipId": source.membership_id,
                "toMembershipId": target.membership_id,
                "amount": rng.randint(1, 1_000),
            }
        )
        return load.post(host, "/money/transfer", body, source.headers | {"Idempotency-Key": str(uuid.uuid4())})

    return request


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="pay bench transfers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", "-c", type=int, default=32)
    parser.add_argument("--seconds", "-t", type=int, default=20)
    parser.add_argument("--members", type=int, default=64)
    parser.add_argument("--data-dir", type=Path, default=Path(".pay"))
    parser.add_argument("--port-offset", type=int, default=0)
    options = parser.parse_args(arguments)
    settings = Settings(data_dir=options.data_dir.resolve(), port_offset=options.port_offset)

    print(f"preparing {options.members} members with {OPENING_BALANCE:,} won each…", flush=True)
    members = asyncio.run(prepare(settings, options.members))
    print(f"{options.clients} clients send transfers for {options.seconds} s…", flush=True)
    started = time.perf_counter()
    results = uvloop.run(
        drive(settings.host, settings.port_of("money"), options.clients, options.seconds, transfer(settings, members))
    )
    elapsed = time.perf_counter() - started
    money_rss = rss_mb_listening_on(settings.port_of("money"))
    print(f"answers by status: {dict(sorted(results.outcomes.items()))}", flush=True)
    print(f"pgbench TPC-B, {options.clients} clients for {options.seconds} s…", flush=True)
    tps = pgbench(settings.data_dir, options.clients, options.seconds)

    transfers_per_s = results.outcomes.get("200", 0) / elapsed
    p50 = percentile(results.latencies, 0.50) * 1000
    p99 = percentile(results.latencies, 0.99) * 1000
    print(
        f"transfers_per_s={transfers_per_s:.0f} p50_ms={p50:.1f} p99_ms={p99:.1f} "
        f"pgbench_tps={tps:.0f} ratio={transfers_per_s / tps:.2f} money_rss_mb={money_rss:.0f}"
    )


if __name__ == "__main__":
    main()
