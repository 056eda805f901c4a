"""The money of a region: every member's balance, each counted once, asked for in batches.

The reference dropped the members at each batch boundary; here a region's members are cut into
consecutive batches that together hold every one of them exactly once, and the sum counts a member of
a batch whether or not money knows its wallet (one not open yet holds nothing).
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

BATCH_SIZE = 100  # the most members money is asked about at once (SPEC "Money aggregation")


def batches(membership_ids: Sequence[str], size: int = BATCH_SIZE) -> Iterator[Sequence[str]]:
    """Consecutive slices of at most `size` members, which together hold each member once, in order."""
    if not 1 <= size <= BATCH_SIZE:
        raise ValueError(f"a batch holds 1 to {BATCH_SIZE} members, not {size}")
    for start in range(0, len(membership_ids), size):
        yield membership_ids[start : start + size]


@dataclass(frozen=True)
class MoneySum:
    address: str
    money_sum: int
    member_count: int


class RegionTally:
    """The sum so far of a region's balances, batch by batch."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._money_sum = 0
        self._member_count = 0

    def add(self, batch: Sequence[str], balances: Mapping[str, int]) -> None:
        """Counts every member of the batch once; a balance money gave for a member not asked about is no part
        of it."""
        self._member_count += len(batch)
        self._money_sum += sum(balances.get(membership_id, 0) for membership_id in batch)

    def result(self) -> MoneySum:
        return MoneySum(self.address, self._money_sum, self._member_count)
