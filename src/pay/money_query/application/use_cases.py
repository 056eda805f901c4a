"""The money-query operations, one function each: apply an event once, answer a region, rebuild and compare."""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pay.money_query.application.ports import Clock, EventReplay, UnitOfWork
from pay.money_query.domain import projection
from pay.money_query.domain.projection import Difference, MoneyEvent, ProjectionStatus, RegionMoney

# The inbox's name for this model: whatever the event, its id is applied once.
CONSUMER = "money-query"
# A rebuild compares again this often while the live model is still catching up with the replayed events.
_CATCH_UP_ATTEMPTS = 10
_CATCH_UP_PAUSE_SECONDS = 0.5


@dataclass(frozen=True)
class Dependencies:
    uow: Callable[[], UnitOfWork]
    replay: EventReplay
    clock: Clock


@dataclass(frozen=True)
class RebuildReport:
    events_replayed: int
    members_rebuilt: int
    differences: Sequence[Difference]


async def apply_event(deps: Dependencies, message_id: str, event: MoneyEvent) -> ProjectionStatus | None:
    """Apply the event to its member once, whatever the number of deliveries; None for a repeated delivery."""
    async with deps.uow() as uow:
        if not await uow.inbox.first_delivery(CONSUMER, message_id):
            return None
        updated = projection.apply(await uow.members.lock(event.membership_id), event)
        if updated is not None:
            await uow.members.save(updated)
        status = await uow.status.applied(event.occurred_at, deps.clock())
        await uow.commit()
    return status


async def region_money(deps: Dependencies, address: str) -> RegionMoney:
    async with deps.uow() as uow:
        return await uow.members.region(address)


async def status(deps: Dependencies) -> ProjectionStatus:
    async with deps.uow() as uow:
        return await uow.status.current()


async def rebuild(deps: Dependencies) -> RebuildReport:
    """Fold every event the broker holds into a model of its own, keep it beside the live one, and compare.

    Events applied live after the replay are no difference; events the live model has not applied yet are
    waited for a few seconds before they count as one.
    """
    replayed: list[MoneyEvent] = [event async for event in deps.replay()]
    rebuilt = projection.fold(replayed)
    async with deps.uow() as uow:
        await uow.members.keep_rebuilt(rebuilt.values())
        await uow.commit()
    for attempt in range(_CATCH_UP_ATTEMPTS):
        async with deps.uow() as uow:
            found = projection.differences(await uow.members.everyone(), rebuilt)
        if not found or attempt == _CATCH_UP_ATTEMPTS - 1:
            break
        await asyncio.sleep(_CATCH_UP_PAUSE_SECONDS)
    return RebuildReport(len(replayed), len(rebuilt), found)
