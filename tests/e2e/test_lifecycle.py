"""`pay up` stops cleanly on SIGTERM and SIGINT, leaves nothing running, and keeps its data."""

import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from pay.contracts.topology import DEFAULT_PORTS

from system import free_port_offset, start_system

pytestmark = pytest.mark.e2e


def test_stop_leaves_no_process_and_a_second_start_keeps_the_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "pay"
    first = start_system(data_dir, free_port_offset())
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(timeout=10) as http:
        registered = http.post(
            f"{first.url('membership')}/membership/register",
            json={"name": "Kim", "email": email, "address": "강남구", "password": "hunter2-hunter2"},
        )
        assert registered.status_code == 201
    children = first.service_pids()
    assert len(children) >= 4, "postgres, nats and the services run as children of pay up"
    assert first.stop(signal.SIGTERM) == 0
    assert not [pid for pid in children if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]

    second = start_system(data_dir, free_port_offset())
    try:
        with httpx.Client(timeout=10) as http:
            login = http.post(
                f"{second.url('membership')}/membership/login", json={"email": email, "password": "hunter2-hunter2"}
            )
            assert login.status_code == 200
            assert login.json()["membershipId"] == registered.json()["membershipId"]
    finally:
        assert second.stop(signal.SIGINT) == 0


def test_a_start_on_a_port_already_taken_says_so_and_starts_nothing(tmp_path: Path) -> None:
    offset = free_port_offset()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", DEFAULT_PORTS["money"] + offset))
        squatter.listen()
        started = subprocess.run(
            [sys.executable, "-m", "pay.cli", "up", "--data-dir", str(tmp_path / "pay"), "--port-offset", str(offset)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert started.returncode == 1
    assert f"Port {DEFAULT_PORTS['money'] + offset}, money's, is taken" in " ".join(started.stdout.split())
    assert not (tmp_path / "pay" / "postgres").exists(), "nothing was started"
