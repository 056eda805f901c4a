"""Membership and money as the aggregation asks them: a region's members page by page, balances in batches.

Whatever keeps an answer from being whole — a timeout, a refused connection, a 5xx, or a refusal that leaves
the question unanswered — is `DownstreamUnavailable`: the sum is never given without it.
"""

from collections.abc import Mapping, Sequence

from pydantic import ValidationError

from pay.contracts.clients import MembershipClient, MoneyClient, ServiceError
from pay.money_aggregation.application.ports import DownstreamUnavailable, MemberPage


class MembershipRegionMembers:
    def __init__(self, client: MembershipClient) -> None:
        self._client = client

    async def page(self, address: str, cursor: str | None, limit: int) -> MemberPage:
        try:
            found = await self._client.members_by_address(address, cursor, limit)
        except (ServiceError, ValidationError) as error:
            raise DownstreamUnavailable(f"membership: {error}") from error
        return MemberPage([member.membership_id for member in found.items], found.next_cursor)


class MoneyBalances:
    def __init__(self, client: MoneyClient) -> None:
        self._client = client

    async def balances(self, membership_ids: Sequence[str]) -> Mapping[str, int]:
        try:
            found = await self._client.member_money(membership_ids)
        except (ServiceError, ValidationError) as error:
            raise DownstreamUnavailable(f"money: {error}") from error
        return {money.membership_id: money.balance for money in found}
