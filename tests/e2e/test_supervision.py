"""`pay up` as a supervisor: it heals a killed service, and a SIGINT to its whole process group
stops every service gracefully."""

import contextlib
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from pay.cli import SERVICES

from system import free_port_offset, start_system

pytestmark = pytest.mark.e2e


def test_a_killed_service_is_restarted_and_serves_again_on_its_port(tmp_path: Path) -> None:
    system = start_system(tmp_path / "pay", free_port_offset())
    try:
        money, membership = system.service_process("money"), system.service_process("membership")
        assert money is not None and membership is not None
        money.kill()

        deadline = time.monotonic() + 60
        while b"money is back on port" not in system.output.read_bytes():
            assert time.monotonic() < deadline, system.output.read_text()
            time.sleep(0.2)

        with httpx.Client(timeout=10) as http:
            assert http.get(f"{system.url('money')}/health/ready").status_code == 200
            assert http.get(f"{system.url('membership')}/health/ready").status_code == 200
        restarted = system.service_process("money")
        assert restarted is not None and restarted.pid != money.pid
        assert system.service_process("membership") == membership, "the others keep serving"
        output = system.output.read_text()
        port = system.url("money").rsplit(":", 1)[1]
        assert f"money died (signal SIGKILL); restarting it on port {port} in 1 s" in output
    finally:
        assert system.stop(signal.SIGINT) == 0


def test_sigint_to_the_whole_process_group_stops_every_service_gracefully(tmp_path: Path) -> None:
    data_dir = tmp_path / "pay"
    system = start_system(data_dir, free_port_offset(), own_session=True)
    group = os.getpgid(system.process.pid)

    os.killpg(group, signal.SIGINT)  # what Ctrl-C in a terminal or `kill -INT -<pgid>` does
    # The same request once more, as a wrapper forwards it (`uv run`) or a double Ctrl-C sends it;
    # after a moment, so that the two are not merged into one pending signal.
    time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGINT)

    assert system.process.wait(timeout=60) == 0
    output = system.output.read_text()
    assert "service.killed" not in output
    assert "Pay stopped." in output
    for service in SERVICES:
        assert "service_stopped" in (data_dir / "logs" / f"{service}.log").read_text(), service
