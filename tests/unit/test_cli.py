from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pay.cli import app, parse_workers


def test_workers_are_given_per_service() -> None:
    assert parse_workers(["money=2", "banking=1"]) == {"money": 2, "banking": 1}


@pytest.mark.parametrize("option", ["money", "money=0", "money=two", "nowhere=2", "money=17"])
def test_bad_worker_counts_are_refused(option: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_workers([option])


def test_pay_docs_refuses_a_directory_that_is_no_checkout(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["docs", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "docs/operations.md is missing" in result.output
