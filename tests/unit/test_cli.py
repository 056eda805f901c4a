import base64
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pay.cli import ADMIN_PASSWORD_FILE, RECONCILE_JOB, SEALING_KEY_FILES, SERVED, app, parse_workers
from pay.platform import auth


def test_workers_are_given_per_service() -> None:
    assert parse_workers(["money=2", "banking=1"]) == {"money": 2, "banking": 1}


@pytest.mark.parametrize("option", ["money", "money=0", "money=two", "nowhere=2", "money=17"])
def test_bad_worker_counts_are_refused(option: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_workers([option])


def test_pay_docs_refuses_a_directory_that_is_no_checkout(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["docs", "--root", str(tmp_path)])
    assert result.exit_code == 1
    # As the console printed it, wrapped at the terminal's width.
    assert "docs/operations.md is missing" in " ".join(result.output.split())


def test_keys_writes_each_secret_a_cluster_reads_from_files_and_keeps_keys_across_runs(tmp_path: Path) -> None:
    directory = tmp_path / "secrets"
    assert CliRunner().invoke(app, ["keys", str(directory)]).exit_code == 0
    kept = {name: (directory / name).read_bytes() for name in [*SEALING_KEY_FILES, ADMIN_PASSWORD_FILE]}
    assert all(len(base64.b64decode(kept[name], validate=True)) == 32 for name in SEALING_KEY_FILES)
    first_token = (directory / "money.token").read_text()

    assert CliRunner().invoke(app, ["keys", str(directory), "--days", "90"]).exit_code == 0
    assert {name: (directory / name).read_bytes() for name in kept} == kept
    verifier = auth.TokenVerifier((directory / auth.PUBLIC_KEY_FILE).read_text())
    for subject in [*SERVED, RECONCILE_JOB]:
        assert verifier.verify((directory / f"{subject}.token").read_text()) == auth.Principal(
            subject, auth.Role.SERVICE
        )
    assert (directory / "money.token").read_text() != first_token
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in directory.iterdir())


def test_pay_up_on_rabbitmq_without_a_cache_says_so_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAY_CACHE_URL", raising=False)
    monkeypatch.setenv("PAY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/pay")
    result = CliRunner().invoke(app, ["up", "--data-dir", str(tmp_path / "pay")])
    assert result.exit_code == 1
    assert "PAY_CACHE_URL=redis://" in " ".join(result.output.split())
    assert not (tmp_path / "pay").exists()
