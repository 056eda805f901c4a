"""The money-query operations, one function each: apply events once, answer a region, rebuild and compare."""

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


@dataclass(frozen=True)
class Delivery:
    message_id: str
    event: MoneyEvent


async def apply_events(deps: Dependencies, deliveries: Sequence[Delivery]) -> list[ProjectionStatus | None]:
    """Apply a group of delivered events in one transaction, each once whatever the number of its deliveries.

    For each delivery in order: the model's status once the group is applied, or None for one applied before.
    """
    async with deps.uow() as uow:
        first = await uow.inbox.first_deliveries(CONSUMER, [delivery.message_id for delivery in deliveries])
        # Two copies of one message may be in the same group: only the first copy counts.
        applying = {d.message_id: index for index, d in reversed(list(enumerate(deliveries))) if d.message_id in first}
        if not applying:
            return [None] * len(deliveries)
        new = [deliveries[index].event for index in applying.values()]
        known = await uow.members.lock({event.membership_id for event in new})
        after = projection.fold(new, known)
        await uow.members.save([member for member_id, member in after.items() if member != known.get(member_id)])
        status = await uow.status.applied(len(new), max(event.occurred_at for event in new), deps.clock())
        await uow.commit()
    counted = set(applying.values())
    return [status if index in counted else None for index in range(len(deliveries))]


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
