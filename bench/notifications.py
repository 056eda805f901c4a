"""Event-to-delivery of the notification streams under the transfer load, with many streams open.

Against a running `pay up`:

1. Members for the transfer load are prepared as in `pay bench transfers`; each opens one stream
   (`GET /notifications/stream`, its access token). The other `--streams` minus `--members` streams are idle:
   members no transfer names, with access tokens the bench signs with the platform's key from the data
   directory (the notification service needs no member record, only a valid token), so a thousand streams
   cost no thousand registrations.
2. C clients send transfers for T seconds as `pay bench transfers` does. Every transfer that succeeds tells its
   receiver "money received" on the receiver's stream; for each such event the bench takes the time from the
   event's `occurredAt` (set by money in the transaction of the transfer) to when the frame arrived. Bench and
   services share the machine's clock.
3. It waits until every successful transfer was delivered (at most 30 s after the load), reads the
   notification service's RSS (the process listening on its port, streams still open), closes the streams,
   then runs pgbench TPC-B with the same C and T on the same PostgreSQL.

The last line is

    transfers_per_s=… delivered=…/… delivery_p50_ms=… delivery_p99_ms=… streams=… pgbench_tps=… notification_rss_mb=…

Run it with `./pay bench notifications` (see `--help`).
"""

import argparse
import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import uvloop
from harness import OPENING_BALANCE, Member, drive, percentile, pgbench, prepare, rss_mb_listening_on
from transfers import transfer

from pay.platform.auth import Role, TokenIssuer, read_private_key
from pay.platform.settings import Settings

STREAM_TOKEN_LIFETIME = timedelta(hours=1)
CATCH_UP_SECONDS = 30.0
OPENED_AT_ONCE = 50


@dataclass
class Deliveries:
    latencies: list[float] = field(default_factory=list)
    comments: int = 0
    # Set once as many frames arrived as `expected` (known when the load is over).
    expected: int | None = None
    all_in: asyncio.Event = field(default_factory=asyncio.Event)

    def arrived(self, latency: float) -> None:
        self.latencies.append(latency)
        self.check()

    def check(self) -> None:
        if self.expected is not None and len(self.latencies) >= self.expected:
            self.all_in.set()


class Stream:
    """One `GET /notifications/stream` on a raw connection: the response is chunked, one chunk per frame, so
    its lines arrive whole and the chunk-size lines among them are simply not `data:` lines."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int, token: str) -> "Stream":
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            f"GET /notifications/stream HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
            f"Authorization: Bearer {token}\r\n\r\n".encode()
        )
        status = await reader.readline()
        if b" 200 " not in status:
            raise SystemExit(f"a stream was refused: {status.decode().strip()}")
        return cls(reader, writer)

    async def follow(self, into: Deliveries) -> None:
        while line := await self._reader.readline():
            if line.startswith(b"data: "):
                arrived = time.time()
                occurred = datetime.fromisoformat(orjson.loads(line[6:])["occurredAt"]).timestamp()
                into.arrived(arrived - occurred)
            elif line.startswith(b":"):
                into.comments += 1

    def close(self) -> None:
        self._writer.close()


async def open_streams(settings: Settings, tokens: list[str]) -> list[Stream]:
    host, port = settings.host, settings.port_of("notification")
    streams: list[Stream] = []
    for start in range(0, len(tokens), OPENED_AT_ONCE):
        batch = tokens[start : start + OPENED_AT_ONCE]
        streams += await asyncio.gather(*(Stream.open(host, port, token) for token in batch))
    return streams


def idle_tokens(settings: Settings, count: int) -> list[str]:
    issuer = TokenIssuer(read_private_key(settings.keys_dir, settings.jwt_private_key), STREAM_TOKEN_LIFETIME)
    return [issuer.issue(str(uuid.uuid4()), Role.MEMBER) for _ in range(count)]


async def measure(
    settings: Settings, members: list[Member], streams: int, clients: int, seconds: int
) -> tuple[float, int, Deliveries, float]:
    tokens = [member.token for member in members] + idle_tokens(settings, max(streams - len(members), 0))
    opened = await open_streams(settings, tokens)
    deliveries = Deliveries()
    followers = [asyncio.create_task(stream.follow(deliveries)) for stream in opened]
    print(f"{len(opened)} streams open; {clients} clients send transfers for {seconds} s…", flush=True)
    started = time.perf_counter()
    results = await drive(
        settings.host,
        settings.port_of("money"),
        clients,
        seconds,
        transfer(settings, settings.port_of("money"), members),
    )
    elapsed = time.perf_counter() - started
    sent = results.outcomes.get("200", 0)
    deliveries.expected = sent
    deliveries.check()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CATCH_UP_SECONDS):
            await deliveries.all_in.wait()
    rss = rss_mb_listening_on(settings.port_of("notification"))
    print(f"answers by status: {dict(sorted(results.outcomes.items()))}; heartbeats seen: {deliveries.comments}")
    for stream in opened:
        stream.close()
    for follower in followers:
        follower.cancel()
    await asyncio.gather(*followers, return_exceptions=True)
    return sent / elapsed, sent, deliveries, rss


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="pay bench notifications", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", "-c", type=int, default=32)
    parser.add_argument("--seconds", "-t", type=int, default=20)
    parser.add_argument("--members", type=int, default=64, help="members sending each other transfers")
    parser.add_argument("--streams", type=int, default=1000, help="open streams, one per transfer member included")
    parser.add_argument("--data-dir", type=Path, default=Path(".pay"))
    parser.add_argument("--port-offset", type=int, default=0)
    options = parser.parse_args(arguments)
    settings = Settings(data_dir=options.data_dir.resolve(), port_offset=options.port_offset)

    print(f"preparing {options.members} members with {OPENING_BALANCE:,} won each…", flush=True)
    members = asyncio.run(prepare(settings, options.members))
    transfers_per_s, sent, deliveries, rss = uvloop.run(
        measure(settings, members, options.streams, options.clients, options.seconds)
    )
    if not deliveries.latencies:
        raise SystemExit("no notification was delivered")
    print(f"pgbench TPC-B, {options.clients} clients for {options.seconds} s…", flush=True)
    tps = pgbench(settings.data_dir, options.clients, options.seconds)
    p50 = percentile(deliveries.latencies, 0.50) * 1000
    p99 = percentile(deliveries.latencies, 0.99) * 1000
    print(
        f"transfers_per_s={transfers_per_s:.0f} delivered={len(deliveries.latencies)}/{sent} "
        f"delivery_p50_ms={p50:.1f} delivery_p99_ms={p99:.1f} streams={max(options.streams, len(members))} "
        f"pgbench_tps={tps:.0f} notification_rss_mb={rss:.0f}"
    )


if __name__ == "__main__":
    main()
