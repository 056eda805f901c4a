"""Supervisor against real child processes: tiny HTTP servers standing in for services."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import psutil
import pytest

from pay.platform.retry import RetryPolicy
from pay.platform.supervisor import (
    ServiceProcessSpec,
    ServiceStartError,
    Supervisor,
    free_port,
)

# Restarts within a tenth of a second, so a test sees several of them quickly.
FAST_RESTARTS = RetryPolicy(first_delay=timedelta(milliseconds=50), max_delay=timedelta(milliseconds=100))

# argv: port, seconds before listening, seconds to serve (0 = forever), "ignore-term" or "slow-term"
FAKE_SERVICE = """
import http.server, os, signal, subprocess, sys, threading, time
port, delay, lifetime, mode = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
if mode == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # a grandchild
if mode == "slow-term":
    def stop_slowly(*args):
        time.sleep(1)
        print("stopped gracefully", flush=True)
        os._exit(0)
    signal.signal(signal.SIGTERM, stop_slowly)
time.sleep(delay)

class Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health/ready" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", port), Ready)
if lifetime:
    threading.Timer(lifetime, os._exit, args=(7,)).start()
print("fake service listening on", port, flush=True)
server.serve_forever()
"""


def fake_service(name: str, *, delay: float = 0.0, lifetime: float = 0.0, mode: str = "normal") -> ServiceProcessSpec:
    port = free_port()
    command = [sys.executable, "-c", FAKE_SERVICE, str(port), str(delay), str(lifetime), mode]
    return ServiceProcessSpec(name=name, port=port, command=command, env={"PAY_SERVICE": name})


def crashing_service(name: str) -> ServiceProcessSpec:
    command = [sys.executable, "-c", "import sys; print('boom: missing config'); sys.exit(3)"]
    return ServiceProcessSpec(name=name, port=free_port(), command=command, env={})


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _descendants() -> list[psutil.Process]:
    """Our fake services and their grandchildren that are still alive."""
    ours = []
    for process in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            cmdline = " ".join(process.cmdline())
            if _alive(process.pid) and ("fake service" in cmdline or "sleep(60)" in cmdline):
                ours.append(process)
    return ours


def test_start_all_waits_until_ready_and_stop_all_leaves_no_process(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "logs")
    specs = [fake_service("membership", delay=0.7), fake_service("wallet")]

    started = time.monotonic()
    supervisor.start_all(specs, ready_timeout=10)
    assert time.monotonic() - started >= 0.7

    for spec in specs:  # ready means ready: no retry needed
        assert httpx.get(f"http://127.0.0.1:{spec.port}/health/ready").status_code == 200
    pids = supervisor.pids()
    assert set(pids) == {"membership", "wallet"}
    assert "fake service listening" in (tmp_path / "logs" / "wallet.log").read_text()

    supervisor.stop_all(grace=5)
    assert not any(_alive(pid) for pid in pids.values())
    assert supervisor.pids() == {}


def test_a_service_exiting_early_fails_start_all_with_its_name_and_log(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "logs")
    specs = [fake_service("wallet"), crashing_service("payment")]

    with pytest.raises(ServiceStartError, match="'payment' exited") as failure:
        supervisor.start_all(specs, ready_timeout=10)

    assert failure.value.service == "payment"
    assert "boom: missing config" in str(failure.value)
    assert _descendants() == []


def test_a_service_that_never_gets_ready_times_out(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "logs")
    with pytest.raises(ServiceStartError, match="'slow' not ready"):
        supervisor.start_all([fake_service("slow", delay=30)], ready_timeout=0.5)
    assert _descendants() == []


def test_stop_all_kills_services_ignoring_sigterm_and_their_children(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "logs")
    supervisor.start_all([fake_service("stubborn", mode="ignore-term")], ready_timeout=10)
    assert len(_descendants()) == 2

    started = time.monotonic()
    supervisor.stop_all(grace=0.3)
    assert time.monotonic() - started < 3
    assert _descendants() == []


def test_wait_reports_a_service_that_keeps_dying(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "logs", restart_backoff=FAST_RESTARTS, crash_loop_crashes=3)
    specs = [fake_service("settlement", lifetime=0.3), fake_service("wallet")]
    supervisor.start_all(specs, ready_timeout=10)

    assert supervisor.wait(grace=5) == "settlement"
    assert _descendants() == []


def test_wait_returns_on_sigterm_and_stops_everything(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "logs")
    supervisor.start_all([fake_service("wallet")], ready_timeout=10)
    supervisor.install_signal_handlers()
    try:
        threading.Timer(0.2, os.kill, args=(os.getpid(), signal.SIGTERM)).start()
        assert supervisor.wait(grace=5) is None
    finally:
        supervisor.restore_signal_handlers()
    assert _descendants() == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_killed_service_is_restarted_on_its_port_while_the_others_keep_serving(tmp_path: Path) -> None:
    reports: list[str] = []
    supervisor = Supervisor(tmp_path / "logs", restart_backoff=FAST_RESTARTS, report=reports.append)
    specs = [fake_service("wallet"), fake_service("membership")]
    supervisor.start_all(specs, ready_timeout=10)
    before = supervisor.pids()
    seen: dict[str, object] = {}

    def kill_wallet_and_watch_it_come_back() -> None:
        os.kill(before["wallet"], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any("wallet is back" in report for report in reports):
            time.sleep(0.05)
        seen["pids"] = supervisor.pids()
        seen["ready"] = httpx.get(f"http://127.0.0.1:{specs[0].port}/health/ready").status_code
        os.kill(os.getpid(), signal.SIGTERM)

    supervisor.install_signal_handlers()
    try:
        threading.Thread(target=kill_wallet_and_watch_it_come_back).start()
        assert supervisor.wait(grace=5) is None
    finally:
        supervisor.restore_signal_handlers()

    after = seen["pids"]
    assert isinstance(after, dict)
    assert after["membership"] == before["membership"], "the others keep running"
    assert after["wallet"] != before["wallet"]
    assert seen["ready"] == 200
    assert reports[0].startswith(f"wallet died (signal SIGKILL); restarting it on port {specs[0].port} in 0.05 s")
    assert reports[1] == f"wallet is back on port {specs[0].port} (pid {after['wallet']})"
    assert _descendants() == []


def test_a_service_that_keeps_crashing_stops_the_system_and_shows_its_log(tmp_path: Path) -> None:
    reports: list[str] = []
    supervisor = Supervisor(
        tmp_path / "logs",
        restart_backoff=FAST_RESTARTS,
        crash_loop_crashes=4,
        crash_loop_window=timedelta(seconds=30),
        report=reports.append,
    )
    supervisor.start_all([fake_service("settlement", lifetime=0.2), fake_service("wallet")], ready_timeout=10)

    assert supervisor.wait(grace=5) == "settlement"

    restarts = [report for report in reports if "restarting it" in report]
    assert [report.split("(crash ")[1] for report in restarts] == [
        f"{n} within 30 s; crash 4 stops Pay)" for n in (1, 2, 3)
    ]
    assert reports[-1].startswith("settlement died (exit code 7), 4 times within 30 s: it will not heal")
    assert "fake service listening" in reports[-1], "the dead service's log tail is shown"
    assert _descendants() == [], "the others are stopped too"


def test_a_stop_signal_repeated_at_once_does_not_cut_the_graceful_stop_short(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "logs")
    supervisor.start_all([fake_service("banking", mode="slow-term")], ready_timeout=10)
    supervisor.install_signal_handlers()

    def signal_twice_like_a_process_group_and_uv_run() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    try:
        threading.Thread(target=signal_twice_like_a_process_group_and_uv_run).start()
        assert supervisor.wait(grace=5) is None
    finally:
        supervisor.restore_signal_handlers()
    assert "stopped gracefully" in (tmp_path / "logs" / "banking.log").read_text()
