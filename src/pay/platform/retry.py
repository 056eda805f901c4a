"""The one retry policy: how often to try again and how long to wait in between.

Sagas wait `delay(attempt)` before their next try, the broker redelivers a failed message after
`delay(deliveries)`, and the bank adapter retries a call through `retrying()`. Each use configures
its own numbers; none computes a backoff of its own.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import stamina

# 2**30 first delays is decades: past it the exponent is not raised further, so it cannot overflow.
_LARGEST_EXPONENT = 30


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff from `first_delay` (doubling) up to `max_delay`.

    `attempts` and `budget` bound the tries of one call made through `retrying()`; sagas and the
    broker count their own tries and ignore them.
    """

    first_delay: timedelta
    max_delay: timedelta
    attempts: int = 3
    budget: timedelta = timedelta(seconds=30)

    def __post_init__(self) -> None:
        if self.first_delay <= timedelta(0) or self.max_delay < self.first_delay:
            raise ValueError("a retry policy needs 0 < first_delay <= max_delay")
        if self.attempts < 1:
            raise ValueError("a retry policy needs at least one attempt")

    def delay(self, attempt: int) -> timedelta:
        """How long to wait after the `attempt`-th failed try (1 for the first)."""
        delay: timedelta = self.first_delay * 2 ** min(max(attempt - 1, 0), _LARGEST_EXPONENT)
        return min(delay, self.max_delay)

    def retrying(self, on: Callable[[Exception], bool]) -> stamina.BoundAsyncRetryingCaller:
        """Calls an async function again while it raises an error that `on` accepts, within the bounds."""
        return stamina.AsyncRetryingCaller(
            attempts=self.attempts,
            timeout=self.budget.total_seconds(),
            wait_initial=self.first_delay.total_seconds(),
            wait_max=self.max_delay.total_seconds(),
            wait_jitter=self.first_delay.total_seconds(),
        ).on(on)
