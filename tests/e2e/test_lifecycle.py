"""`pay up` stops cleanly on SIGTERM and SIGINT, leaves nothing running, and keeps its data."""

import signal
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

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
