"""One settlement run over N payments at F franchises, timed from `POST /settlement/start` to SUCCEEDED.

Against a running `pay up`: a corporate member registers F franchises at 3 % as a user would (each settled to a
KB account of its own, confirmed by the bank), then the **bulk loader** puts N BANK payments, spread over one
business day (`--day`), in the system in a state `pay reconcile` accepts as clean:

1. A bench payer account is opened at the bank simulator with enough money for every payment.
2. For each franchise, ONE real bank transfer (`bench-load-<franchise>`) moves that franchise's total from the
   payer account into the platform's corporate account: the bank simulator's own `POST /bank/transfers`, the
   transfer a BANK payment's firm banking makes, once per franchise instead of once per payment.
3. Money is told through its own command path, as a BANK payment's saga tells it: one `CreditPayable` per
   franchise on the broker, naming that transfer as its bank leg, credits the franchise's payable with the total.
   The loader waits until money's `totalPayables` grew by the sum of all payments.
4. The payments themselves (BANK, APPROVED, the franchise's 3 %, the fee from payment's own `fee_for`) are written
   into payment's database with `COPY` (asyncpg `copy_records_to_table`): the rows a BANK payment's saga leaves.

So the corporate account's intake equals the payables' growth, each of the F transfers pairs with one bank leg,
and Conservation holds before the run. Then ONE `POST /settlement/start` for that day is timed until the run
has SUCCEEDED (payment claims every payment in one statement, settlement pays each franchise by firm banking,
money settles each payable, payment marks each line's payments SETTLED), and `pay reconcile` checks the system.
The last lines are

    payments=… franchises=… load_s=… settle_s=… payments_per_s=… settlement_rss_mb=… payment_rss_mb=…
    reconcile: clean | NOT clean

Run it with `./pay bench settlement` (see `--help`).
"""

import argparse
import asyncio
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import psutil
from harness import ADMIN, report_reconcile
from payments import open_franchises

from pay.contracts.money import CreditPayable
from pay.payment.domain.model import fee_for
from pay.platform.broker import Broker
from pay.platform.infra import EmbeddedNats, EmbeddedPostgres
from pay.platform.settings import Settings

FEE_RATE = Decimal("3")  # what `open_franchises` registers
PAYER_BANK = "KB"
SEOUL = ZoneInfo("Asia/Seoul")
COLUMNS = (
    "payment_id", "request_membership_id", "franchise_id", "request_price", "method", "fee_rate", "fee",
    "refunded_amount", "reserved_amount", "status", "payer_bank_name", "payer_bank_account_number",
    "approved_at", "created_at", "updated_at",
)  # fmt: skip


@dataclass
class Load:
    """The payment rows to COPY, what each franchise was paid in total, and the bank account that paid it."""

    rows: list[tuple[object, ...]]
    totals: dict[str, int]
    payer_account: str


def spread(payments: int, franchises: list[str], day: date, seed: int) -> Load:
    """N payments, round-robin over the franchises, approved at random moments of the business day."""
    rng = random.Random(seed)
    start = datetime.combine(day, clock(), SEOUL).astimezone(UTC)
    fees: dict[int, int] = {}
    payer, account = f"bench-payer-{uuid.uuid4().hex[:8]}", f"BENCH-P-{uuid.uuid4().hex[:10]}"
    load = Load([], defaultdict(int), account)
    for number in range(payments):
        franchise_id = franchises[number % len(franchises)]
        price = rng.randrange(1_000, 50_001, 100)
        fee = fees.setdefault(price, fee_for(price, FEE_RATE))
        at = start + timedelta(microseconds=rng.randrange(86_400 * 10**6))
        load.rows.append(
            (str(uuid.uuid4()), payer, franchise_id, price, "BANK", FEE_RATE, fee, 0, 0, "APPROVED",
             PAYER_BANK, account, at, at, at)
        )  # fmt: skip
        load.totals[franchise_id] += price
    return load


async def admin_headers(http: httpx.AsyncClient, settings: Settings) -> dict[str, str]:
    login = await http.post(f"{settings.url_of('membership')}/membership/login", json=ADMIN)
    login.raise_for_status()
    return {"Authorization": f"Bearer {login.json()['jwtToken']}"}


def broker_url(data_dir: Path) -> str:
    """The embedded NATS `pay up` started on `data_dir`."""
    url = EmbeddedNats.running_url(data_dir)
    if url is None:
        raise SystemExit(f"no NATS running on {data_dir / 'nats'}: is `pay up` running there?")
    return url


async def load_into(settings: Settings, load: Load) -> None:
    totals, payer_account = load.totals, load.payer_account
    bank = settings.url_of("bank")
    async with httpx.AsyncClient(timeout=60) as http:
        admin = await admin_headers(http, settings)
        before = (await http.get(f"{settings.url_of('money')}/money/summary", headers=admin)).json()["totalPayables"]
        opened = await http.post(
            f"{bank}/bank/accounts",
            json={"bankName": PAYER_BANK, "bankAccountNumber": payer_account, "holderName": "bench payers",
                  "balance": sum(totals.values())},
        )  # fmt: skip
        opened.raise_for_status()
        transfers = {franchise_id: f"bench-load-{uuid.uuid4().hex[:12]}" for franchise_id in totals}

        async def transfer(franchise_id: str) -> None:
            moved = await http.post(
                f"{bank}/bank/transfers",
                json={"transferId": transfers[franchise_id], "fromBankName": PAYER_BANK,
                      "fromBankAccountNumber": payer_account, "toBankName": settings.corporate_bank_name,
                      "toBankAccountNumber": settings.corporate_bank_account_number, "amount": totals[franchise_id]},
            )  # fmt: skip
            moved.raise_for_status()
            if moved.json()["status"] != "SUCCEEDED":
                raise SystemExit(f"the bank refused a load transfer: {moved.text}")

        for start in range(0, len(totals), 16):
            await asyncio.gather(*(transfer(franchise_id) for franchise_id in list(totals)[start : start + 16]))

        broker = Broker(broker_url(settings.data_dir), "bench-settlement")
        await broker.start()
        try:
            for franchise_id, total in totals.items():
                await broker.publish_message(
                    CreditPayable(
                        correlation_id=f"bench-load-{franchise_id}",
                        ledger_transaction_id=f"{transfers[franchise_id]}-credit",
                        franchise_id=franchise_id,
                        amount=total,
                        bank_transfer_id=transfers[franchise_id],
                    )
                )
        finally:
            await broker.stop()

        postgres = EmbeddedPostgres(settings.data_dir).start()  # adopts the server `pay up` runs
        connection = await asyncpg.connect(postgres.dsn("pay_payment"))
        try:
            await connection.copy_records_to_table("payments", records=load.rows, columns=COLUMNS)
            await connection.execute("ANALYZE payments")
        finally:
            await connection.close()

        wanted = before + sum(totals.values())
        for _ in range(600):
            summary = (await http.get(f"{settings.url_of('money')}/money/summary", headers=admin)).json()
            if summary["totalPayables"] >= wanted:
                return
            await asyncio.sleep(0.5)
        raise SystemExit(f"money's payables grew to {summary['totalPayables']:,}, not {wanted:,}")


def rss_mb(port: int) -> float:
    for connection in psutil.net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port and connection.pid:
            process = psutil.Process(connection.pid)
            # `pay serve` may run the app in a child (workers): count the whole tree.
            return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20
    raise SystemExit(f"nothing listens on port {port}: is `pay up` running?")


async def settle(settings: Settings, day: date) -> tuple[dict[str, object], float, float, float]:
    """Start the day's run and poll it until it has ended; the run, its seconds, and the peak RSS seen."""
    peaks = {"settlement": 0.0, "payment": 0.0}
    async with httpx.AsyncClient(timeout=60) as http:
        admin = await admin_headers(http, settings)
        started_at = time.perf_counter()
        started = await http.post(
            f"{settings.url_of('settlement')}/settlement/start",
            json={"from": day.isoformat(), "to": day.isoformat()},
            headers=admin | {"Idempotency-Key": str(uuid.uuid4())},
        )
        started.raise_for_status()
        url = f"{settings.url_of('settlement')}/settlement/{started.json()['settlementId']}"
        while True:
            for service in peaks:
                peaks[service] = max(peaks[service], rss_mb(settings.port_of(service)))
            run = (await http.get(url, headers=admin)).json()
            if run["status"] != "RUNNING":
                return run, time.perf_counter() - started_at, peaks["settlement"], peaks["payment"]
            await asyncio.sleep(0.25)


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="pay bench settlement", description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--franchises", type=int, default=1_000)
    parser.add_argument("--day", type=date.fromisoformat, default=date(2020, 1, 1), help="the business day paid")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=Path(".pay"))
    parser.add_argument("--port-offset", type=int, default=0)
    options = parser.parse_args(arguments)
    settings = Settings(data_dir=options.data_dir.resolve(), port_offset=options.port_offset)

    print(f"opening {options.franchises} franchises…", flush=True)
    franchises = asyncio.run(open_franchises(settings, options.franchises))
    load = spread(options.payments, franchises, options.day, options.seed)
    print(
        f"loading {options.payments:,} payments of {options.day} (one bank transfer per franchise, COPY)…", flush=True
    )
    started = time.perf_counter()
    asyncio.run(load_into(settings, load))
    load_s = time.perf_counter() - started
    del load
    print(f"loaded in {load_s:.1f} s; one settlement run of {options.day}…", flush=True)
    run, settle_s, settlement_rss, payment_rss = asyncio.run(settle(settings, options.day))
    lines = run["lines"]
    assert isinstance(lines, list)
    settled = sum(line["paymentCount"] for line in lines if line["status"] == "SUCCEEDED")
    print(f"run {run['settlementId']}: {run['status']}, {len(lines)} lines, {settled:,} payments settled", flush=True)
    print(
        f"payments={settled} franchises={len(lines)} load_s={load_s:.1f} settle_s={settle_s:.1f} "
        f"payments_per_s={settled / settle_s:.0f} settlement_rss_mb={settlement_rss:.0f} "
        f"payment_rss_mb={payment_rss:.0f}",
        flush=True,
    )
    report_reconcile(settings.data_dir, options.port_offset)


if __name__ == "__main__":
    main()
