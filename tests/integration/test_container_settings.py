"""What compose.yaml gives a container works: membership, the service with the most secrets, migrated and served
as processes with exactly the environment and secret files its compose entries give it (paths moved from
/run/secrets to a folder of `pay keys`), against real PostgreSQL and NATS."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import yaml
from typer.testing import CliRunner

from pay.cli import app
from pay.contracts.topology import DEFAULT_PORTS
from pay.platform import auth
from pay.platform.infra import EmbeddedPostgres

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "membership"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _container_environment(entry: dict[str, Any], secrets: Path, **overrides: str) -> dict[str, str]:
    """The process environment with no PAY_* of its own, plus the entry's, its secret paths moved to `secrets`."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PAY_")}
    for variable, value in entry["environment"].items():
        environment[variable] = str(value).replace("/run/secrets/", f"{secrets}/")
    return {**environment, **overrides}


def test_membership_migrates_and_serves_with_its_secrets_from_files(
    pg: EmbeddedPostgres, nats_url: str, tmp_path: Path
) -> None:
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    secrets, workdir = tmp_path / "secrets", tmp_path / "work"
    workdir.mkdir()
    assert CliRunner().invoke(app, ["keys", str(secrets)]).exit_code == 0
    # A database that does not exist yet: `pay migrate` creates it, as a compose or Kubernetes job needs.
    (secrets / f"{SERVICE}.database-url").write_text(pg.url(f"pay_container_{uuid.uuid4().hex[:8]}") + "\n")
    pay = [sys.executable, "-m", "pay.cli"]

    migrate = services[f"migrate-{SERVICE}"]
    subprocess.run(
        [*pay, *migrate["command"]], env=_container_environment(migrate, secrets), cwd=workdir, check=True, timeout=120
    )

    port = _free_port()
    serve = services[SERVICE]
    environment = _container_environment(
        serve,
        secrets,
        PAY_BROKER_URL=nats_url,
        PAY_HOST="127.0.0.1",
        PAY_PORT_OFFSET=str(port - DEFAULT_PORTS[SERVICE]),
    )
    process = subprocess.Popen([*pay, *serve["command"]], env=environment, cwd=workdir)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, "membership exited while starting"
                try:
                    if http.get("/health/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "membership not ready within 60 s"
                time.sleep(0.2)
            password = (secrets / "admin-password").read_text()
            login = http.post("/membership/login", json={"email": "admin@pay.local", "password": password})
            assert login.status_code == 200, login.text
        verifier = auth.TokenVerifier((secrets / auth.PUBLIC_KEY_FILE).read_text())
        assert verifier.verify(login.json()["jwtToken"]).role is auth.Role.ADMIN
        process.send_signal(signal.SIGTERM)
        # uvicorn stops gracefully, then ends by raising again the signal it caught, as a container runtime expects.
        assert process.wait(timeout=30) == -signal.SIGTERM
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # Every key came from a file: nothing was made into a data directory of its own.
    assert list(workdir.iterdir()) == []
