"""Quantiles of a Prometheus histogram over what it observed between two scrapes of a service's `/metrics`."""

import math

from prometheus_client.parser import text_string_to_metric_families

# A histogram as `/metrics` shows it: each bucket's upper bound (the last one +Inf) → observations up to it.
Buckets = dict[float, float]


def buckets(metrics_text: str, name: str) -> Buckets:
    for family in text_string_to_metric_families(metrics_text):
        if family.name == name and family.type == "histogram":
            return {float(s.labels["le"]): s.value for s in family.samples if s.name == f"{name}_bucket"}
    raise ValueError(f"no histogram {name} in the metrics")


def between(before: Buckets, after: Buckets) -> Buckets:
    """What was observed after `before` was scraped, up to `after`."""
    return {bound: count - before.get(bound, 0.0) for bound, count in after.items()}


def quantile(histogram: Buckets, share: float) -> float:
    """As PromQL's `histogram_quantile`: the bucket the rank falls in, interpolated linearly from the bound below
    it (0 below the first); infinity when the rank lies beyond the last finite bound. So the answer is only as
    fine as the buckets around it."""
    bounds = sorted(histogram)
    total = histogram[bounds[-1]]
    if total <= 0:
        raise ValueError("the histogram observed nothing")
    rank = share * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = histogram[bound]
        if count >= rank and count > below:
            if math.isinf(bound):
                return math.inf
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return math.inf
