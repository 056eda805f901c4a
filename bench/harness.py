"""What every benchmark shares: members prepared as a user would prepare them, the closed-loop load, and the
figures printed next to pgbench on the same PostgreSQL."""

import asyncio
import random
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

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
    # How many answers had each outcome: the HTTP status, or what `drive`'s `outcome` read in the answer.
    outcomes: dict[str, int] = field(default_factory=dict)


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
    # Money opens the wallet when it hears of the registration: on a loaded machine that can take seconds.
    for _ in range(300):
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


def status_code(status: int, _: bytes) -> str:
    return str(status)


async def drive(
    host: str,
    port: int,
    clients: int,
    seconds: float,
    request: Callable[[random.Random], bytes],
    outcome: Callable[[int, bytes], str] = status_code,
) -> Results:
    """The measured load: C clients, each on its own keep-alive connection, one request at a time, each
    request built by `request` from the client's own random source, each answer counted by its `outcome`."""
    results = Results()
    deadline = time.perf_counter() + seconds

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        connection = await load.connect(host, port)
        try:
            while time.perf_counter() < deadline:
                built = request(rng)
                started = time.perf_counter()
                status, body = await connection.send(built)
                results.latencies.append(time.perf_counter() - started)
                seen = outcome(status, body)
                results.outcomes[seen] = results.outcomes.get(seen, 0) + 1
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


def report_reconcile(data_dir: Path, port_offset: int) -> None:
    """`pay reconcile` on the benchmarked system, its table printed and whether it came out clean."""
    reconciled = subprocess.run(
        [sys.executable, "-m", "pay.cli", "reconcile", "--data-dir", str(data_dir), "--port-offset", str(port_offset)],
        capture_output=True,
        text=True,
        check=False,
    )
    print(reconciled.stdout.strip())
    print(f"reconcile: {'clean' if reconciled.returncode == 0 else 'NOT clean'}")
