"""EmbeddedPostgres and EmbeddedNats against the real binaries: no mocks, no skips."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg
import nats
import psutil
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from pay.platform.infra import EmbeddedNats, EmbeddedPostgres


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def _postmaster_pid(postgres: EmbeddedPostgres) -> int:
    return int((postgres.pgdata / "postmaster.pid").read_text().split()[0])


async def _write_row(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("CREATE TABLE ledger (id int PRIMARY KEY, note text)")
        await connection.execute("INSERT INTO ledger VALUES (1, 'kept across restarts')")
    finally:
        await connection.close()


async def _read_rows(url: str) -> list[tuple[int, str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(text("SELECT id, note FROM ledger"))
            return [(row.id, row.note) for row in result]
    finally:
        await engine.dispose()


def test_postgres_keeps_committed_data_across_restarts(tmp_path: Path) -> None:
    postgres = EmbeddedPostgres(tmp_path)
    with postgres:
        postgres.ensure_database("wallet")
        postgres.ensure_database("wallet")  # idempotent
        assert postgres.url("wallet").startswith("postgresql+asyncpg://postgres@/wallet?host=")
        asyncio.run(_write_row(postgres.dsn("wallet")))
        first_pid = _postmaster_pid(postgres)
    assert _gone(first_pid)
    assert not (postgres.pgdata / "postmaster.pid").exists()

    with postgres:
        assert asyncio.run(_read_rows(postgres.url("wallet"))) == [(1, "kept across restarts")]
        pid = _postmaster_pid(postgres)
    assert _gone(pid)


def test_postgres_adopts_a_running_server_and_recovers_from_a_killed_one(tmp_path: Path) -> None:
    first = EmbeddedPostgres(tmp_path).start()
    try:
        second = EmbeddedPostgres(tmp_path).start()  # same data dir: reuses the server
        assert _postmaster_pid(second) == _postmaster_pid(first)
        assert second.socket_dir == first.socket_dir

        killed = _postmaster_pid(first)
        os.kill(killed, signal.SIGKILL)  # leaves a stale postmaster.pid
        _wait_until(lambda: _gone(killed))
        third = EmbeddedPostgres(tmp_path).start()
        third.ensure_database("after_crash")
        assert third.running
    finally:
        first.stop()
    assert not first.running


def test_postgres_falls_back_to_a_short_socket_dir_for_long_paths(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 100)
    with EmbeddedPostgres(deep) as postgres:
        socket_dir = postgres.socket_dir
        assert str(socket_dir).startswith("/tmp/pay-pg-")
        postgres.ensure_database("deep")
        assert postgres.bin_path("pgbench").is_file()
    assert not socket_dir.exists()


async def _jetstream_round_trip(url: str) -> bytes:
    client = await nats.connect(url)
    try:
        jetstream = client.jetstream()
        await jetstream.add_stream(name="PAYMENTS", subjects=["payments.>"])
        await jetstream.publish("payments.approved", b"order-1")
        subscription = await jetstream.pull_subscribe("payments.approved", durable="settlement")
        [message] = await subscription.fetch(1, timeout=5)
        await message.ack()
        return message.data
    finally:
        await client.close()


def test_nats_runs_jetstream_on_a_private_port(tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path)
    with server:
        assert server.url.startswith("nats://127.0.0.1:")
        assert not server.url.endswith(":4222")
        pid = server.pid
        assert pid is not None
        assert asyncio.run(_jetstream_round_trip(server.url)) == b"order-1"
    assert _gone(pid)
    assert not server.running
    with pytest.raises(RuntimeError):
        _ = server.url


def test_the_running_nats_of_a_data_directory_is_found_by_its_ports_file(tmp_path: Path) -> None:
    assert EmbeddedNats.running_url(tmp_path) is None
    with EmbeddedNats(tmp_path) as server:
        assert EmbeddedNats.running_url(tmp_path) == server.url
        assert EmbeddedNats.running_url(tmp_path / "elsewhere") is None
    # A ports file left by a server that is gone names no running one.
    (tmp_path / "nats" / "nats-server_999999999.ports").write_text(
        '{"nats": ["nats://127.0.0.1:1"], "monitoring": ["http://127.0.0.1:2"]}'
    )
    assert EmbeddedNats.running_url(tmp_path) is None


OWNER_SCRIPT = """
import sys, time
from pathlib import Path
from pay.platform.infra import EmbeddedNats, EmbeddedPostgres
postgres = EmbeddedPostgres(Path(sys.argv[1])).start()
nats = EmbeddedNats(Path(sys.argv[1])).start()
postmaster = int((postgres.pgdata / "postmaster.pid").read_text().split()[0])
print("PIDS", postmaster, nats.pid, flush=True)
time.sleep(60)
"""


def test_servers_stop_when_their_owner_is_killed(tmp_path: Path) -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER_SCRIPT, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        line = next(line for line in owner.stdout if line.startswith("PIDS"))  # after the logs
        postmaster, nats_server = (int(pid) for pid in line.split()[1:])
        owner.kill()  # SIGKILL: no handler, no stop(), only the kernel's parent-death signal
        owner.wait()
        _wait_until(lambda: _gone(postmaster) and _gone(nats_server), timeout=15)
    finally:
        owner.kill()
        owner.wait()
    assert not (tmp_path / "postgres" / "data" / "postmaster.pid").exists()  # a clean shutdown
