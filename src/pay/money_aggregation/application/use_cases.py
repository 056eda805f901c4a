"""Summing a region's money on demand (SPEC "Money aggregation")."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from pay.money_aggregation.application.ports import Balances, DownstreamUnavailable, RegionMembers
from pay.money_aggregation.domain.model import MoneySum, RegionTally, batches


@dataclass(frozen=True)
class Dependencies:
    members: RegionMembers
    balances: Balances
    page_size: int
    concurrency: int


async def sum_money_by_address(deps: Dependencies, address: str) -> MoneySum:
    """The region's balances, asked of money in batches while membership is still paged through, at most
    `concurrency` batches at a time. The first failure of either service ends the whole sum: the batches
    still running are cancelled and no partial sum is given."""
    tally = RegionTally(address)
    slots = asyncio.Semaphore(deps.concurrency)

    async def add(batch: Sequence[str]) -> None:
        try:
            tally.add(batch, await deps.balances.balances(batch))
        finally:
            slots.release()

    try:
        async with asyncio.TaskGroup() as group:
            cursor: str | None = None
            while True:
                page = await deps.members.page(address, cursor, deps.page_size)
                for batch in batches(page.membership_ids):
                    # Waiting for a slot before the task exists holds the paging back too.
                    await slots.acquire()
                    group.create_task(add(batch))
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
    except* DownstreamUnavailable as failures:
        raise failures.exceptions[0] from None
    return tally.result()
