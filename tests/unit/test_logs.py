"""`pay logs`: which shipped events it shows and how they read."""

import orjson
import pytest

from pay.logs import Level, LogFilter, parse, pretty

REQUEST = {
    "timestamp": "2026-12-02T18:02:03.145678Z",
    "service": "money",
    "level": "info",
    "event": "request",
    "request_id": "r-1",
    "path": "/money/wallets/{membership_id}",
    "status": 404,
}


def test_no_filter_admits_every_event() -> None:
    assert LogFilter().admits(REQUEST)
    assert LogFilter().admits({"event": "bare"})


def test_services_filter_admits_only_theirs() -> None:
    assert LogFilter(services=frozenset({"money", "banking"})).admits(REQUEST)
    assert not LogFilter(services=frozenset({"banking"})).admits(REQUEST)
    assert not LogFilter(services=frozenset({"money"})).admits({"event": "no service"})


def test_request_id_filter_admits_only_that_request() -> None:
    assert LogFilter(request_id="r-1").admits(REQUEST)
    assert not LogFilter(request_id="r-2").admits(REQUEST)
    assert not LogFilter(request_id="r-1").admits({**REQUEST, "request_id": None})


@pytest.mark.parametrize(
    ("threshold", "shown"),
    [
        (Level.DEBUG, ["debug", "info", "warning", "error", "critical"]),
        (Level.INFO, ["info", "warning", "error", "critical"]),
        (Level.WARNING, ["warning", "error", "critical"]),
        (Level.ERROR, ["error", "critical"]),
    ],
)
def test_level_is_a_threshold(threshold: Level, shown: list[str]) -> None:
    levels = ["debug", "info", "warning", "error", "critical"]
    assert [level for level in levels if LogFilter(level=threshold).admits({"level": level})] == shown


def test_an_event_without_a_known_level_counts_as_info() -> None:
    assert LogFilter(level=Level.INFO).admits({"event": "x"})
    assert LogFilter(level=Level.INFO).admits({"event": "x", "level": "chatty"})
    assert not LogFilter(level=Level.WARNING).admits({"event": "x", "level": 3})


def test_filters_combine() -> None:
    both = LogFilter(services=frozenset({"money"}), level=Level.WARNING, request_id="r-1")
    assert not both.admits(REQUEST)
    assert both.admits({**REQUEST, "level": "error"})


def test_a_shipped_line_parses_to_its_event_and_anything_else_to_none() -> None:
    assert parse(orjson.dumps(REQUEST)) == REQUEST
    assert parse(b"not json") is None
    assert parse(b"[1, 2]") is None


def test_pretty_reads_time_service_level_event_then_the_rest_as_key_value() -> None:
    line = pretty(REQUEST).plain
    assert " ".join(line.split()) == (
        "18:02:03.145 money info request request_id=r-1 path=/money/wallets/{membership_id} status=404"
    )


def test_pretty_colours_the_level() -> None:
    styles = {str(span.style) for span in pretty({**REQUEST, "level": "error"}).spans}
    assert "bold red" in styles
    assert "green" in {str(span.style) for span in pretty(REQUEST).spans}


def test_pretty_quotes_values_with_spaces_shows_structures_as_json_and_the_traceback_below() -> None:
    line = pretty(
        {
            "timestamp": "2026-12-02T18:02:03.145678Z",
            "service": "banking",
            "level": "error",
            "event": "message_failed",
            "error": "bank said no",
            "ids": [1, 2],
            "exception": "Traceback (most recent call last):\n  boom",
        }
    ).plain
    first, *below = line.splitlines()
    assert " ".join(first.split()) == '18:02:03.145 banking error message_failed error="bank said no" ids=[1,2]'
    assert below == ["Traceback (most recent call last):", "  boom"]


def test_pretty_shows_what_is_missing_as_a_dash() -> None:
    assert " ".join(pretty({"event": "bare"}).plain.split()) == "- - bare"
