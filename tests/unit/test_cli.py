import pytest
import typer

from pay.cli import parse_workers


def test_workers_are_given_per_service() -> None:
    assert parse_workers(["money=2", "banking=1"]) == {"money": 2, "banking": 1}


@pytest.mark.parametrize("option", ["money", "money=0", "money=two", "nowhere=2", "money=17"])
def test_bad_worker_counts_are_refused(option: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_workers([option])
