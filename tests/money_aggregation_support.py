"""The regions money aggregation's tests sum: their sizes straddle a batch of 100 on either side."""

from dataclasses import dataclass

REGION_SIZES = (0, 1, 99, 100, 101, 250)
Headers = dict[str, str]


@dataclass(frozen=True)
class Region:
    address: str
    balances: dict[str, int]

    @property
    def money_sum(self) -> int:
        return sum(self.balances.values())
