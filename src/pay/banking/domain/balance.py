"""A linked account's balance at the bank as banking last saw it, and when it is too old to call fresh."""

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class SeenBalance:
    """The bank said the account held `balance` won at `as_of`."""

    balance: int
    as_of: datetime

    def is_fresh(self, now: datetime, max_age: timedelta) -> bool:
        """Seen no longer than `max_age` ago; an `as_of` ahead of `now` (another host's clock) counts as fresh."""
        return now - self.as_of <= max_age


@dataclass(frozen=True)
class BalanceAnswer:
    """What a reader is told: the balance last seen, and whether it is fresh. A refresh that was asked
    for and did not reach the bank leaves the answer stale, whatever its age."""

    seen: SeenBalance
    fresh: bool
