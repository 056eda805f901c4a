"""Killing the money process mid-recharge and starting it again finishes the recharge exactly once."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from pay.platform import auth
from pay.platform.broker import Broker
from pay.platform.supervisor import free_port

from money_support import FakeBanking, bearer
from support import token_for


@contextmanager
def money_process(env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "pay.cli", "serve", "money", "--port", str(port)],
            env={**os.environ, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            if process.poll() is not None:
                raise AssertionError(f"money exited:\n{log.read_text()}")
            try:
                if (await http.get(f"http://127.0.0.1:{port}/health/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"money never became ready:\n{log.read_text()}")


async def test_a_killed_money_process_resumes_its_recharge_exactly_once(
    database_url: str, nats_url: str, data_dir: Path, banking_url: str, banking: FakeBanking, bank_responder: Broker
) -> None:
    port = free_port()
    env = {
        "PAY_SERVICE": "money",
        "PAY_DATABASE_URL": database_url,
        "PAY_BROKER_URL": nats_url,
        "PAY_DATA_DIR": str(data_dir),
        "PAY_SERVICE_URLS": json.dumps({"banking": banking_url}),
        "PAY_SAGA_RETRY_FIRST_SECONDS": "0.2",
        "PAY_SAGA_RETRY_MAX_SECONDS": "0.5",
    }
    log = data_dir / "money-crash.log"
    membership_id = str(uuid.uuid4())
    headers = bearer(token_for(data_dir, membership_id, auth.Role.MEMBER))
    banking.link(membership_id)
    banking.silent_times = 10**6
    base = f"http://127.0.0.1:{port}"

    with money_process(env, port, log) as first:
        await ready(port, first, log)
        async with httpx.AsyncClient(base_url=base, headers=headers) as http:
            assert (await http.post("/money/create-member-money", json={"membershipId": membership_id})).is_success
            started = await http.post(
                "/money/increase-async", json={"targetMembershipId": membership_id, "amount": 8_000}
            )
            request_id = started.json()["moneyChangingRequestId"]
        for _ in range(100):
            if any(command.transfer_id == f"{request_id}-charge" for command in banking.commands):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the charge was never asked for")
        first.send_signal(signal.SIGKILL)

    banking.silent_times = 0
    with money_process(env, port, log) as second:
        await ready(port, second, log)
        async with httpx.AsyncClient(base_url=base, headers=headers) as http:
            for _ in range(100):
                request = (await http.get(f"/money/changing-requests/{request_id}")).json()
                if request["status"] != "REQUESTED":
                    break
                await asyncio.sleep(0.1)
            assert request["status"] == "SUCCEEDED"
            assert (await http.get(f"/money/{membership_id}")).json()["balance"] == 8_000
        second.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells why it stopped.
        assert second.wait(timeout=30) in (0, -signal.SIGTERM)
    assert log.read_text().count('"event":"service_stopped"') == 1
    assert [t for t in banking.executed if t.startswith(request_id)] == [f"{request_id}-charge"]
