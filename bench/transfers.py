"""Transfers per second through the whole stack, against pgbench TPC-B on the same PostgreSQL.

Against a running `pay up`: registers members, gives each a balance the way a user would (a linked
bank account and a recharge), then C clients send `POST /money/transfer` (JWT + Idempotency-Key) for
T seconds. Then pgbench runs TPC-B with the same C and T on the same PostgreSQL. The last line is

    transfers_per_s=… p50_ms=… p99_ms=… pgbench_tps=… ratio=… money_rss_mb=…

With `--via-gateway`, the same load runs a second time through the gateway (port 8080), and the last line
also has `gateway_transfers_per_s=… gateway_p50_ms=… gateway_p99_ms=… gateway_drop_pct=… gateway_rss_mb=…`.
The gateway counts money-moving calls per member (`PAY_MONEY_MOVING_CALLS_PER_MINUTE`, 600 by default): start
`pay up` with a limit above the load's, or most calls are 429.

Run it with `./pay bench transfers` (see `--help`).
"""

import argparse
import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import uvloop
from harness import OPENING_BALANCE, Member, drive, percentile, pgbench, prepare, rss_mb_listening_on

from pay.platform.settings import Settings

import load


def transfer(settings: Settings, port: int, members: list[Member]) -> Callable[[random.Random], bytes]:
    """A transfer of up to 1,000 won between two members, each request with its own Idempotency-Key."""
    host = f"{settings.host}:{port}"

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
    parser.add_argument("--via-gateway", action="store_true", help="also run the load through the gateway")
    options = parser.parse_args(arguments)
    settings = Settings(data_dir=options.data_dir.resolve(), port_offset=options.port_offset)

    print(f"preparing {options.members} members with {OPENING_BALANCE:,} won each…", flush=True)
    members = asyncio.run(prepare(settings, options.members))
    direct = run_load(settings, "money", members, options.clients, options.seconds)
    money_rss = rss_mb_listening_on(settings.port_of("money"))
    via_gateway = (
        run_load(settings, "gateway", members, options.clients, options.seconds) if options.via_gateway else None
    )
    print(f"pgbench TPC-B, {options.clients} clients for {options.seconds} s…", flush=True)
    tps = pgbench(settings.data_dir, options.clients, options.seconds)

    figures = (
        f"transfers_per_s={direct.per_second:.0f} p50_ms={direct.p50_ms:.1f} p99_ms={direct.p99_ms:.1f} "
        f"pgbench_tps={tps:.0f} ratio={direct.per_second / tps:.2f} money_rss_mb={money_rss:.0f}"
    )
    if via_gateway is not None:
        drop = (1 - via_gateway.per_second / direct.per_second) * 100 if direct.per_second else 0.0
        figures += (
            f" gateway_transfers_per_s={via_gateway.per_second:.0f} gateway_p50_ms={via_gateway.p50_ms:.1f}"
            f" gateway_p99_ms={via_gateway.p99_ms:.1f} gateway_drop_pct={drop:.0f}"
            f" gateway_rss_mb={rss_mb_listening_on(settings.port_of('gateway')):.0f}"
        )
    print(figures)


@dataclass(frozen=True)
class LoadFigures:
    per_second: float
    p50_ms: float
    p99_ms: float


def run_load(settings: Settings, through: str, members: list[Member], clients: int, seconds: int) -> LoadFigures:
    """C clients sending transfers for T seconds to `through` (money itself, or the gateway in front of it)."""
    port = settings.port_of(through)
    print(f"{clients} clients send transfers to {through} for {seconds} s…", flush=True)
    started = time.perf_counter()
    results = uvloop.run(drive(settings.host, port, clients, seconds, transfer(settings, port, members)))
    elapsed = time.perf_counter() - started
    print(f"answers by status: {dict(sorted(results.outcomes.items()))}", flush=True)
    if "429" in results.outcomes:
        print("the gateway refused calls over the members' allowance: raise PAY_MONEY_MOVING_CALLS_PER_MINUTE")
    return LoadFigures(
        results.outcomes.get("200", 0) / elapsed,
        percentile(results.latencies, 0.50) * 1000,
        percentile(results.latencies, 0.99) * 1000,
    )


if __name__ == "__main__":
    main()
