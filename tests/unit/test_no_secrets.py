"""Nothing secret is committed: no private key, token or credential in the tracked tree, no file of the kind
`pay keys` or `pay up` writes, and the local default admin password only where it is the local default."""

import re
import secrets
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pay.cli import app
from pay.membership.settings import MembershipSettings

ROOT = Path(__file__).resolve().parents[2]
# Shapes of secrets: PEM private keys, signed JWTs, cloud and chat credentials, webhook secrets in full.
SECRET_SHAPES = {
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "a signed JWT": re.compile(r"\beyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{20,}"),
    "an AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "a Slack token or webhook": re.compile(r"\bxox[abprs]-[\w-]{10,}|hooks\.slack\.com/services/T\w+"),
    "a webhook secret": re.compile(r"\bwhsec_[\w-]{20,}"),
}
# A password in a URL is a secret unless it is plainly an example, or RabbitMQ's own default (`guest`, which it
# accepts from 127.0.0.1 only).
URL_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.-]*://[\w.-]+:([^@\s/'\"]+)@")
EXAMPLE_PASSWORDS = {"secret", "pass", "password", "guest"}
# Where the local default admin password may stand: where it is defined, documented as the local default (the
# README, the settings reference), and in the tests and benchmarks that drive a local `pay up`.
LOCAL_DEFAULT_PLACES = ("src/pay/membership/settings.py", "README.md", "docs/operations.md", "tests/", "bench/")


def _tracked() -> dict[str, str]:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    texts = {}
    for name in listing.decode().split("\0"):
        path = ROOT / name
        if not name or not path.is_file() or name == "uv.lock":
            continue
        try:
            texts[name] = path.read_text()
        except UnicodeDecodeError:
            continue
    return texts


@pytest.fixture(scope="module")
def tracked() -> dict[str, str]:
    texts = _tracked()
    assert "src/pay/cli.py" in texts
    return texts


def test_no_tracked_file_holds_a_secret(tracked: dict[str, str]) -> None:
    found = [
        f"{name}: {what}"
        for name, text in tracked.items()
        for what, shape in SECRET_SHAPES.items()
        if shape.search(text)
    ]
    found += [
        f"{name}: a password in a URL"
        for name, text in tracked.items()
        for password in URL_CREDENTIALS.findall(text)
        if password not in EXAMPLE_PASSWORDS and not password.startswith(("$", "%", "{"))
    ]
    assert found == []


def test_no_tracked_file_is_a_key_or_secrets_file(tracked: dict[str, str]) -> None:
    git = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, check=True, text=True).stdout
    names = git.splitlines()
    assert [name for name in names if name.endswith((".pem", ".key", ".token")) or "/secrets/" in name] == []
    assert [name for name in names if name.startswith(".pay/") or name.endswith(".env")] == []


def test_the_local_default_admin_password_stands_only_where_it_is_the_local_default(
    tracked: dict[str, str],
) -> None:
    password = MembershipSettings.model_fields["admin_password"].default.get_secret_value()
    assert [
        name for name, text in tracked.items() if password in text and not name.startswith(LOCAL_DEFAULT_PLACES)
    ] == []


def test_the_shapes_recognise_the_secrets_pay_keys_writes(tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["keys", str(tmp_path)]).exit_code == 0
    assert SECRET_SHAPES["a private key"].search((tmp_path / "jwt-private.pem").read_text())
    assert SECRET_SHAPES["a signed JWT"].search((tmp_path / "money.token").read_text())
    password = secrets.token_hex(8)
    assert URL_CREDENTIALS.findall(f"postgresql+asyncpg://pay:{password}@postgres:5432/pay_money") == [password]
