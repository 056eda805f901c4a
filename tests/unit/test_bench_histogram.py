"""The quantiles `pay bench query` reads from money-query's lag histogram."""

import importlib.util
import math
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

_spec = importlib.util.spec_from_file_location("histogram", Path(__file__).parents[2] / "bench" / "histogram.py")
assert _spec is not None and _spec.loader is not None
histogram = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(histogram)

NAME = "lag_seconds"


def scrape(observations: list[float]) -> str:
    registry = CollectorRegistry()
    lag = Histogram(NAME, "lag", buckets=(0.1, 0.5, 1, 2), registry=registry)
    for seconds in observations:
        lag.observe(seconds)
    return generate_latest(registry).decode()


def test_buckets_are_read_cumulatively_from_the_metrics_text() -> None:
    assert histogram.buckets(scrape([0.05, 0.3, 0.3, 5]), NAME) == {0.1: 1, 0.5: 3, 1: 3, 2: 3, math.inf: 4}


def test_a_missing_histogram_is_an_error_not_an_empty_one() -> None:
    with pytest.raises(ValueError, match="no histogram other"):
        histogram.buckets(scrape([0.2]), "other")


def test_only_what_was_observed_between_two_scrapes_counts() -> None:
    before = histogram.buckets(scrape([0.05] * 10), NAME)
    after = histogram.buckets(scrape([0.05] * 10 + [0.7] * 4), NAME)
    assert histogram.between(before, after) == {0.1: 0, 0.5: 0, 1: 4, 2: 4, math.inf: 4}


def test_a_quantile_is_interpolated_within_its_bucket_as_promql_does() -> None:
    # 10 observations up to 0.1 s, 10 more between 0.1 s and 0.5 s.
    cumulative = {0.1: 10.0, 0.5: 20.0, 1.0: 20.0, math.inf: 20.0}
    assert histogram.quantile(cumulative, 0.25) == pytest.approx(0.05)
    assert histogram.quantile(cumulative, 0.75) == pytest.approx(0.3)
    assert histogram.quantile(cumulative, 1.0) == pytest.approx(0.5)


def test_empty_buckets_below_are_skipped() -> None:
    assert histogram.quantile({0.1: 0.0, 0.5: 0.0, 1.0: 4.0, math.inf: 4.0}, 0.5) == pytest.approx(0.75)


def test_beyond_the_last_finite_bound_the_quantile_is_unbounded() -> None:
    assert histogram.quantile({1.0: 98.0, math.inf: 100.0}, 0.99) == math.inf


def test_a_histogram_that_observed_nothing_has_no_quantile() -> None:
    with pytest.raises(ValueError, match="observed nothing"):
        histogram.quantile({1.0: 0.0, math.inf: 0.0}, 0.5)
