"""What the money aggregation use case needs from the outside world: membership and money."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


class DownstreamUnavailable(Exception):
    """Membership or money did not answer, or not usefully: no sum is given."""


@dataclass(frozen=True)
class MemberPage:
    membership_ids: Sequence[str]
    next_cursor: str | None


class RegionMembers(Protocol):
    async def page(self, address: str, cursor: str | None, limit: int) -> MemberPage:
        """One page of the region's members, after the cursor; raises DownstreamUnavailable."""


class Balances(Protocol):
    async def balances(self, membership_ids: Sequence[str]) -> Mapping[str, int]:
        """What each member can spend now, for those money has a wallet of; raises DownstreamUnavailable."""
