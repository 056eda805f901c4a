"""`pay logs` on a running system: it follows what the services ship, through its filters, until Ctrl-C."""

import json
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import IO

import httpx
import pytest

from system import RunningSystem

pytestmark = pytest.mark.e2e


def _lines_of(stream: IO[str] | None) -> tuple["queue.Queue[str]", threading.Thread]:
    """The lines `stream` prints, as they come, and the thread that reads them until it ends."""
    assert stream is not None
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


def _next_line(lines: "queue.Queue[str]", until: float) -> str:
    try:
        return lines.get(timeout=max(until - time.monotonic(), 0))
    except queue.Empty:
        raise AssertionError("pay logs printed nothing more") from None


def test_pay_logs_follows_one_services_events_as_json_until_ctrl_c(system: RunningSystem, http: httpx.Client) -> None:
    follower = subprocess.Popen(
        [sys.executable, "-m", "pay.cli", "logs", "--json", "--service", "money", "--data-dir", str(system.data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        (out, _), (notes, notes_reader) = _lines_of(follower.stdout), _lines_of(follower.stderr)
        deadline = time.monotonic() + 60
        assert "Following the logs" in _next_line(notes, deadline)

        ours, elsewhere = f"e2e-{uuid.uuid4().hex}", f"e2e-{uuid.uuid4().hex}"
        refused = http.get(f"{system.url('money')}/money/{uuid.uuid4()}", headers={"X-Request-ID": ours})
        assert refused.status_code == 401
        http.get(f"{system.url('membership')}/membership/{uuid.uuid4()}", headers={"X-Request-ID": elsewhere})

        seen = []
        while not any(event.get("request_id") == ours for event in seen):
            seen.append(json.loads(_next_line(out, deadline)))
        assert {event["service"] for event in seen} == {"money"}
        logged = next(event for event in seen if event.get("request_id") == ours)
        assert logged["event"] == "request" and logged["level"] == "info" and logged["status"] == 401
        assert logged["timestamp"].endswith("Z")

        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=30) == 0
        notes_reader.join(timeout=10)
        assert notes.empty(), "Ctrl-C is quiet"
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()


def test_pay_logs_without_a_running_system_says_so_in_one_line(tmp_path_factory: pytest.TempPathFactory) -> None:
    stopped = tmp_path_factory.mktemp("nothing-running")
    result = subprocess.run(
        [sys.executable, "-m", "pay.cli", "logs", "--data-dir", str(stopped)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Pay is not running on {stopped}: no broker there. Start it with `pay up`, or give --broker-url."
    ]
