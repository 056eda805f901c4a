"""How often a client may call: a token bucket per client and kind of call.

A bucket holds up to `per_minute` calls and refills evenly over a minute, so a client may burst up to its
allowance and then goes at the allowance's pace. Buckets live in the gateway process: with several gateway
processes each grants its own allowance (the limits are per process, ADR 32).
"""

from collections.abc import Callable
from dataclasses import dataclass

# Buckets kept at most; past it, the full ones (clients idle for a minute or more) are forgotten.
_MAX_BUCKETS = 100_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class Allowance:
    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self._capacity = float(per_minute)
        self._per_second = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, client: str) -> float | None:
        """Count one call of `client`: None when it is allowed, else the seconds until it would be."""
        now = self._clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            self._forget_idle(now)
            bucket = self._buckets[client] = _Bucket(self._capacity, now)
        bucket.tokens = min(self._capacity, bucket.tokens + (now - bucket.at) * self._per_second)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self._per_second

    def _forget_idle(self, now: float) -> None:
        if len(self._buckets) < _MAX_BUCKETS:
            return
        refilled = self._capacity / self._per_second
        self._buckets = {client: b for client, b in self._buckets.items() if now - b.at < refilled}
