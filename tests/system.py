"""Running the system as a user does: `pay up` in a subprocess, on ports no other run is using."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

from pay.contracts.topology import DEFAULT_PORTS

READY_TIMEOUT_SECONDS = 120


@dataclass
class RunningSystem:
    process: subprocess.Popen[bytes]
    data_dir: Path
    port_offset: int
    output: Path

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{DEFAULT_PORTS[service] + self.port_offset}"

    def service_pids(self) -> list[int]:
        return [child.pid for child in psutil.Process(self.process.pid).children(recursive=True)]

    def service_process(self, service: str) -> psutil.Process | None:
        """The running `pay serve <service>` process, if there is one."""
        for child in psutil.Process(self.process.pid).children():
            with contextlib.suppress(psutil.Error):
                if child.cmdline()[-2:] == ["serve", service] and child.status() != psutil.STATUS_ZOMBIE:
                    return child
        return None

    def cli(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        """Run a `pay` command against this system, as an operator would."""
        where = ["--data-dir", str(self.data_dir), "--port-offset", str(self.port_offset)]
        return subprocess.run(
            [sys.executable, "-m", "pay.cli", *arguments, *where],
            capture_output=True,
            text=True,
            timeout=120,
        )

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=60)


def _ports_free(offset: int) -> bool:
    for port in DEFAULT_PORTS.values():
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port + offset)) == 0:
                return False
    return True


# Every port of every offset stays below Linux's ephemeral range (32768 and up): there, a port that no
# server listens on may still be the local end of some outgoing connection, which no probe sees and which
# makes the service's bind fail.
PORT_OFFSETS = range(20000, 32768 - max(DEFAULT_PORTS.values()), 100)


def free_port_offset() -> int:
    # The xdist workers of one run share the offsets out, so two of them never find the same free one
    # before either has bound it; within its share, each test process starts looking at a place of its
    # own, so that two test sessions on one machine do not either.
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    offsets = PORT_OFFSETS[worker::workers]
    start = os.getpid() % len(offsets)
    return next(offset for offset in [*offsets[start:], *offsets[:start]] if _ports_free(offset))


def start_system(
    data_dir: Path, port_offset: int, *, own_session: bool = False, env: Mapping[str, str] | None = None
) -> RunningSystem:
    """`own_session` starts `pay up` in a process group of its own, as a terminal or a process
    manager does, so that a test can signal the whole group; `env` is set on top of this process's."""
    output = data_dir.with_name(f"{data_dir.name}-{time.monotonic_ns()}.out")
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "pay.cli", "up", "--data-dir", str(data_dir), "--port-offset", str(port_offset)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200", **(env or {})},
            start_new_session=own_session,
        )
    system = RunningSystem(process, data_dir, port_offset, output)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while b"Pay is ready" not in output.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"pay up did not become ready:\n{output.read_text()}")
        time.sleep(0.2)
    return system


@contextlib.contextmanager
def running_system(data_dir: Path, env: Mapping[str, str] | None = None) -> Iterator[RunningSystem]:
    """`pay up` on `data_dir` and free ports for the duration, stopped gracefully after."""
    running = start_system(data_dir, free_port_offset(), env=env)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.stop()
