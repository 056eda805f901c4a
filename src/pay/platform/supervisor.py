"""Runs the service processes of `pay up`: spawn them, wait until ready, watch them, stop them.

Every child gets its own session, so a Ctrl-C in the terminal (or a SIGINT to `pay up`'s whole
process group) reaches only the supervisor, which then shuts the children down; it also lets us
signal a child's whole process group.

A service that dies while running is restarted on its port after a backoff (`RESTART_BACKOFF`),
as a container orchestrator would, while the others keep serving. Only a crash loop, i.e.
`CRASH_LOOP_CRASHES` crashes of one service within `CRASH_LOOP_WINDOW`, stops the whole system.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType, TracebackType
from typing import Self

import httpx
import structlog

from pay.platform.infra import parent_death_signal, read_log_tail
from pay.platform.retry import RetryPolicy

log = structlog.get_logger()

_POLL_INTERVAL = 0.1

# Wait 1 s before the first restart of a service, then 2, 4, 8... s, at most 30 s.
RESTART_BACKOFF = RetryPolicy(first_delay=timedelta(seconds=1), max_delay=timedelta(seconds=30))
# A service that crashes this often within the window will not heal by restarting: stop everything.
CRASH_LOOP_CRASHES = 5
CRASH_LOOP_WINDOW = timedelta(seconds=60)
# A stop signal repeated sooner than this after the first one is the same request delivered twice
# (a signal to the whole process group, forwarded once more by a wrapper such as `uv run`, or a
# double Ctrl-C): it must not cut short the graceful stop. A later one is the user insisting.
REPEATED_SIGNAL_FORCES_AFTER = timedelta(seconds=3)

_SignalHandler = Callable[[int, FrameType | None], object] | int | None


@dataclass(frozen=True)
class ServiceProcessSpec:
    """One service process; `env` is added on top of the supervisor's own environment."""

    name: str
    port: int
    command: list[str]
    env: dict[str, str]


class ServiceStartError(RuntimeError):
    """A service exited or did not become ready during `start_all`."""

    def __init__(self, service: str, reason: str, log_tail: str) -> None:
        super().__init__(f"service {service!r} {reason}\n--- last lines of its log ---\n{log_tail}")
        self.service = service
        self.log_tail = log_tail


class StartupInterrupted(RuntimeError):
    """A stop was requested (SIGINT/SIGTERM) while `start_all` was waiting."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now (another process may still take it before you do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class _Child:
    spec: ServiceProcessSpec
    process: subprocess.Popen[bytes]
    log_path: Path
    log_offset: int

    @property
    def pid(self) -> int:
        return self.process.pid

    def exit_status(self) -> str | None:
        """How the child ended, or None while it runs.

        The child is deliberately not reaped: while it is a zombie its pid, and so its process
        group id, cannot be reused, which makes a later killpg() of its group safe.
        """
        try:
            result = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return f"exit code {self.process.returncode}"  # already reaped by Popen
        if result is None:
            return None
        if result.si_code == os.CLD_EXITED:
            return f"exit code {result.si_status}"
        return f"signal {signal.Signals(result.si_status).name}"

    def signal_group(self, sig: signal.Signals) -> None:
        if self.process.returncode is not None:
            return  # reaped: its pid, and so its group id, may belong to another process by now
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def log_tail(self) -> str:
        return read_log_tail(self.log_path, offset=self.log_offset)

    def reap(self) -> None:
        """Kill what the dead child left in its process group (e.g. uvicorn workers holding its
        port), then collect its exit status so its pid can be reused."""
        self.signal_group(signal.SIGKILL)
        self.process.wait()


@dataclass
class _CrashHistory:
    """One service's recent crashes, and when it is due to be started again."""

    crashed_at: deque[float] = field(default_factory=deque)
    restart_at: float | None = None  # set while the service waits out its backoff
    restarted_at: float | None = None  # set from its respawn until it answers /health/ready

    def record_crash(self, now: float, window: timedelta) -> int:
        """Remember a crash; the number of crashes within `window` up to now."""
        self.crashed_at.append(now)
        while now - self.crashed_at[0] > window.total_seconds():
            self.crashed_at.popleft()
        return len(self.crashed_at)


class Supervisor:
    """Owns the service processes; `stop_all` leaves none of them (nor their children) behind."""

    def __init__(
        self,
        logs_dir: Path,
        *,
        restart_backoff: RetryPolicy = RESTART_BACKOFF,
        crash_loop_crashes: int = CRASH_LOOP_CRASHES,
        crash_loop_window: timedelta = CRASH_LOOP_WINDOW,
        report: Callable[[str], object] = lambda message: None,
    ) -> None:
        """`report` tells the operator (the console of `pay up`) that a service died or came back."""
        self.logs_dir = logs_dir
        self.restart_backoff = restart_backoff
        self.crash_loop_crashes = crash_loop_crashes
        self.crash_loop_window = crash_loop_window
        self._report = report
        self._children: dict[str, _Child] = {}
        self._crashes: dict[str, _CrashHistory] = {}
        self._ready_timeout = 60.0
        # Plain flags, set by the signal handler: it runs in the main thread between two of its steps,
        # possibly inside a lock's wait, so it must take no lock (a threading.Event's set() does, and
        # deadlocked `pay up` when a signal came while it waited on that same Event).
        self._stop_requested = False
        self._stop_requested_at: float | None = None
        self._force_stop = False
        self._previous_handlers: dict[signal.Signals, _SignalHandler] = {}

    # starting

    def start_all(self, specs: Sequence[ServiceProcessSpec], ready_timeout: float = 60.0) -> None:
        """Spawn every service, then wait until each answers 200 on /health/ready.

        On failure (early exit, timeout, stop request) everything is stopped before raising.
        """
        names = [spec.name for spec in specs]
        duplicates = {name for name in names if names.count(name) > 1 or name in self._children}
        if duplicates:
            raise ValueError(f"services already defined: {sorted(duplicates)}")
        self._ready_timeout = ready_timeout
        try:
            children = [self._spawn(spec) for spec in specs]
            self._wait_until_ready(children, ready_timeout)
        except BaseException:
            self.stop_all()
            raise

    def _spawn(self, spec: ServiceProcessSpec) -> _Child:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.logs_dir / f"{spec.name}.log"
        with log_path.open("ab") as log_file:
            started = datetime.now(UTC).isoformat(timespec="seconds")
            log_file.write(f"--- {started} starting {spec.name}: {spec.command}\n".encode())
            log_file.flush()
            offset = log_file.tell()
            process = subprocess.Popen(
                spec.command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **spec.env},
                start_new_session=True,
                preexec_fn=parent_death_signal(signal.SIGTERM),
            )
        child = _Child(spec=spec, process=process, log_path=log_path, log_offset=offset)
        self._children[spec.name] = child
        log.info("service.spawned", service=spec.name, pid=process.pid, port=spec.port)
        return child

    def _wait_until_ready(self, children: list[_Child], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = list(children)
        with httpx.Client(timeout=httpx.Timeout(1.0, connect=0.5), trust_env=False) as http:
            while True:
                for child in list(pending):
                    status = child.exit_status()
                    if status is not None:
                        raise ServiceStartError(child.spec.name, f"exited ({status}) before ready", child.log_tail())
                    if _is_ready(http, child.spec.port):
                        log.info("service.ready", service=child.spec.name, port=child.spec.port)
                        pending.remove(child)
                if not pending:
                    return
                if self._stop_requested:
                    raise StartupInterrupted("stop requested while services were starting")
                if time.monotonic() > deadline:
                    late = pending[0]
                    raise ServiceStartError(
                        late.spec.name,
                        f"not ready on port {late.spec.port} after {timeout:g}s",
                        late.log_tail(),
                    )
                time.sleep(_POLL_INTERVAL)

    # running

    def pids(self) -> dict[str, int]:
        """Pids of the service processes still running, by service name."""
        return {name: child.pid for name, child in self._children.items() if child.exit_status() is None}

    def install_signal_handlers(self) -> None:
        """Make SIGINT/SIGTERM request a stop (an insisting later one forces it). Main thread only."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous = signal.signal(sig, self._on_signal)
            self._previous_handlers.setdefault(sig, previous)

    def restore_signal_handlers(self) -> None:
        for sig, previous in self._previous_handlers.items():
            signal.signal(sig, previous)
        self._previous_handlers.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # No logging here: writing to a stream the interrupted code is writing to can raise.
        now = time.monotonic()
        if self._stop_requested_at is None:
            self._stop_requested_at = now
        elif now - self._stop_requested_at >= REPEATED_SIGNAL_FORCES_AFTER.total_seconds():
            self._force_stop = True
        self._stop_requested = True

    def wait(self, grace: float = 15.0) -> str | None:
        """Keep the services running, restarting any that dies, until a stop is requested or one
        of them crash-loops; then stop all services.

        Returns the name of the service that crash-looped, or None when a stop was requested.
        """
        crash_looped: str | None = None
        with httpx.Client(timeout=httpx.Timeout(1.0, connect=0.5), trust_env=False) as http:
            while crash_looped is None and not self._stop_requested:
                crash_looped = self._heal(http)
                time.sleep(_POLL_INTERVAL)
        if crash_looped is None:
            log.info("supervisor.stop_requested")
        self.stop_all(grace)
        return crash_looped

    def _heal(self, http: httpx.Client) -> str | None:
        """One round of watching: note deaths, restart what is due, see restarted ones get ready.

        Returns the name of a service that crashed too often to be restarted again. A service
        being restarted is watched like the others once it runs, and counted ready when it answers.
        """
        now = time.monotonic()
        for name, child in list(self._children.items()):
            history = self._crashes.setdefault(name, _CrashHistory())
            if history.restart_at is not None:
                if now >= history.restart_at:
                    history.restart_at = None
                    history.restarted_at = now
                    self._spawn(child.spec)
                continue
            status = child.exit_status()
            if status is None and history.restarted_at is not None:
                self._check_restarted(child, history, history.restarted_at, http, now)
            elif status is not None and self._on_death(child, status, history, now):
                return name
        return None

    def _on_death(self, child: _Child, status: str, history: _CrashHistory, now: float) -> bool:
        """Schedule the restart of a dead service; True when it crash-loops instead."""
        name = child.spec.name
        log_tail = child.log_tail()
        child.reap()
        crashes = history.record_crash(now, self.crash_loop_window)
        window = self.crash_loop_window.total_seconds()
        if crashes >= self.crash_loop_crashes:
            # The log tail goes to the console through `report`; the log line need not repeat it.
            log.error("service.crash_loop", service=name, status=status, crashes=crashes)
            self._report(
                f"{name} died ({status}), {crashes} times within {window:g} s: it will not heal by "
                f"restarting, stopping Pay.\n--- last lines of {child.log_path} ---\n{log_tail}"
            )
            return True
        delay = self.restart_backoff.delay(crashes).total_seconds()
        history.restart_at = now + delay
        history.restarted_at = None
        # Info, not warning: `pay up` shows warnings on its console, which `report` already told.
        log.info("service.died", service=name, status=status, crashes=crashes, restart_in=delay)
        self._report(
            f"{name} died ({status}); restarting it on port {child.spec.port} in {delay:g} s "
            f"(crash {crashes} within {window:g} s; crash {self.crash_loop_crashes} stops Pay)"
        )
        return False

    def _check_restarted(
        self, child: _Child, history: _CrashHistory, restarted_at: float, http: httpx.Client, now: float
    ) -> None:
        if _is_ready(http, child.spec.port):
            history.restarted_at = None
            log.info("service.restarted", service=child.spec.name, pid=child.pid, port=child.spec.port)
            self._report(f"{child.spec.name} is back on port {child.spec.port} (pid {child.pid})")
        elif now - restarted_at > self._ready_timeout:
            # Counted as a crash at the next round, like a restart that exits by itself.
            log.warning("service.not_ready_after_restart", service=child.spec.name, timeout=self._ready_timeout)
            child.signal_group(signal.SIGKILL)

    # stopping

    def stop_all(self, grace: float = 15.0) -> None:
        """SIGTERM every service's process group, SIGKILL what is left after `grace` seconds."""
        children = list(self._children.values())
        if not children:
            return
        for child in children:
            child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(child.exit_status() is None for child in children):
            if time.monotonic() > deadline or self._force_stop:
                break
            time.sleep(0.05)
        for child in children:
            if child.exit_status() is None:
                log.warning("service.killed", service=child.spec.name, pid=child.pid)
            # Also kills whatever the service left behind in its process group.
            child.signal_group(signal.SIGKILL)
            child.process.wait()
            log.info("service.stopped", service=child.spec.name, code=child.process.returncode)
        self._children.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop_all()


def _is_ready(http: httpx.Client, port: int) -> bool:
    try:
        return http.get(f"http://127.0.0.1:{port}/health/ready").status_code == 200
    except httpx.HTTPError:
        return False
