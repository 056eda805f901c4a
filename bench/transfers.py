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
import re
import statistics
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import psutil
import uvloop

from pay.platform.infra import EmbeddedPostgres
from pay.platform.settings import Settings

import load

ADMIN = {"email": "admin@pay.local", "password": "pay-admin-local"}
PASSWORD = "bench-password-1"
OPENING_BALANCE = 1_000_000


@dataclass
class Member:
    membership_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)


async def prepare_member(http: httpx.AsyncClient, settings: Settings, admin: dict[str, str], number: int) -> Member:
    email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
    registered = await http.post(
        f"{settings.url_of('membership')}/membership/register",
        json={"name": f"bench {number}", "email": email, "address": "강남구", "password": PASSWORD},
    )
    registered.raise_for_status()
    membership_id = registered.json()["membershipId"]
    login = await http.post(
        f"{settings.url_of('membership')}/membership/login", json={"email": email, "password": PASSWORD}
    )
    member = Member(membership_id, login.json()["jwtToken"])
    account = f"BENCH-{membership_id[:13]}"
    opened = await http.post(
        f"{settings.url_of('bank')}/bank/accounts",
        json={
            "bankName": "KB",
            "bankAccountNumber": account,
            "holderName": f"bench {number}",
            "balance": OPENING_BALANCE,
        },
    )
    opened.raise_for_status()
    linked = await http.post(
        f"{settings.url_of('banking')}/banking/account/register",
        json={"membershipId": membership_id, "bankName": "KB", "bankAccountNumber": account},
        headers=member.headers,
    )
    linked.raise_for_status()
    for _ in range(50):
        wallet = await http.get(f"{settings.url_of('money')}/money/{membership_id}", headers=member.headers)
        if wallet.status_code == 200:
            break
        await asyncio.sleep(0.1)
    recharged = await http.post(
        f"{settings.url_of('money')}/money/increase",
        json={"targetMembershipId": membership_id, "amount": OPENING_BALANCE},
        headers=member.headers | {"Idempotency-Key": str(uuid.uuid4())},
    )
    if recharged.json().get("status") != "SUCCEEDED":
        raise SystemExit(f"recharge failed for a bench member: {recharged.text}")
    return member


async def prepare(settings: Settings, members: int) -> list[Member]:
    async with httpx.AsyncClient(timeout=30) as http:
        admin_login = await http.post(f"{settings.url_of('membership')}/membership/login", json=ADMIN)
        admin_login.raise_for_status()
        admin = {"Authorization": f"Bearer {admin_login.json()['jwtToken']}"}
        prepared: list[Member] = []
        for start in range(0, members, 8):
            batch = range(start, min(start + 8, members))
            prepared += await asyncio.gather(*(prepare_member(http, settings, admin, n) for n in batch))
        return prepared


async def drive(settings: Settings, members: list[Member], clients: int, seconds: float) -> Results:
    """The measured load: C clients, each on its own keep-alive connection, one request at a time."""
    results = Results()
    host, port = settings.host, settings.port_of("money")
    deadline = time.perf_counter() + seconds

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        connection = await load.connect(host, port)
        try:
            while time.perf_counter() < deadline:
                source, target = rng.sample(members, 2)
                body = orjson.dumps(
                    {
                        "fromMembershipId": source.membership_id,
                        "toMembershipId": target.membership_id,
                        "amount": rng.randint(1, 1_000),
                    }
                )
                headers = source.headers | {"Idempotency-Key": str(uuid.uuid4())}
                request = load.post(f"{host}:{port}", "/money/transfer", body, headers)
                started = time.perf_counter()
                status, _ = await connection.send(request)
                results.latencies.append(time.perf_counter() - started)
                results.statuses[status] = results.statuses.get(status, 0) + 1
        finally:
            connection.close()

    await asyncio.gather(*(client(seed) for seed in range(clients)))
    return results


def pgbench(data_dir: Path, clients: int, seconds: int) -> float:
    postgres = EmbeddedPostgres(data_dir).start()  # adopts the server `pay up` runs
    postgres.ensure_database("pay_pgbench")
    command = [str(postgres.bin_path("pgbench")), *postgres.libpq_args()]
    scale = max(clients, 10)
    subprocess.run([*command, "-i", "-q", "-s", str(scale), "pay_pgbench"], check=True, capture_output=True)
    run = subprocess.run(
        [*command, "-c", str(clients), "-j", "2", "-T", str(seconds), "-M", "prepared", "pay_pgbench"],
        check=True,
        capture_output=True,
        text=True,
    )
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", run.stdout)
    if match is None:
        raise SystemExit(f"pgbench printed no tps:\n{run.stdout}\n{run.stderr}")
    return float(match.group(1))


def rss_mb_listening_on(port: int) -> float:
    for connection in psutil.net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port and connection.pid:
            return psutil.Process(connection.pid).memory_info().rss / 2**20
    raise SystemExit(f"nothing listens on port {port}: is `pay up` running?")


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=1000)[int(share * 1000) - 1] if len(values) > 1 else values[0]


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
    results = uvloop.run(drive(settings, members, options.clients, options.seconds))
    elapsed = time.perf_counter() - started
    money_rss = rss_mb_listening_on(settings.port_of("money"))
    print(f"answers by status: {dict(sorted(results.statuses.items()))}", flush=True)
    print(f"pgbench TPC-B, {options.clients} clients for {options.seconds} s…", flush=True)
    tps = pgbench(settings.data_dir, options.clients, options.seconds)

    transfers_per_s = results.statuses.get(200, 0) / elapsed
    p50 = percentile(results.latencies, 0.50) * 1000
    p99 = percentile(results.latencies, 0.99) * 1000
    print(
        f"transfers_per_s={transfers_per_s:.0f} p50_ms={p50:.1f} p99_ms={p99:.1f} "
        f"pgbench_tps={tps:.0f} ratio={transfers_per_s / tps:.2f} money_rss_mb={money_rss:.0f}"
    )


if __name__ == "__main__":
    main()
