"""The settlement operations, one function each."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta, tzinfo

from pay.settlement.application.ports import (
    Clock,
    DownstreamUnavailable,
    Franchise,
    Franchises,
    Payments,
    PriorAnswer,
    ReportRow,
    RequestKey,
    SettlementPage,
    UnitOfWork,
)
from pay.settlement.domain.model import (
    BankAccount,
    CarriedDebt,
    Claimed,
    FranchiseNotFound,
    Line,
    LineStatus,
    LineSums,
    Period,
    Schedule,
    Settlement,
    SettlementNotFound,
    line_key,
    scheduled_settlement_id,
)
from pay.settlement.domain.saga import (
    SCHEDULE_SAGA_ID,
    Backoff,
    FinishCall,
    GatherCall,
    LineSaga,
    ReleaseCall,
    RunSaga,
    ScheduleSaga,
    Step,
)

_log = logging.getLogger(__name__)

LEDGER_CONSUMER = "settlement-ledger-answers"
PAYOUT_CONSUMER = "settlement-payout-answers"
# Franchises read at once while gathering: enough to hide the round trips, few enough not to flood the service.
FRANCHISE_READS = 16


@dataclass(frozen=True)
class Dependencies:
    uow: Callable[[], UnitOfWork]
    payments: Payments
    franchises: Franchises
    clock: Clock
    corporate_account: BankAccount
    business_timezone: tzinfo
    retry: Backoff
    schedule: Schedule
    # How long a saga is left alone while a call made for it is out (longer than the call may take).
    call_lease: timedelta = timedelta(seconds=20)
    gather_lease: timedelta = timedelta(seconds=120)
    wake_sagas: Callable[[], None] = lambda: None


async def start_settlement(
    deps: Dependencies, period: Period, key: RequestKey | None = None
) -> Settlement | PriorAnswer:
    """Record a run of the period, answered at once; its saga gathers its payments in the background."""
    if key is not None:
        async with deps.uow() as uow:
            if (earlier := await uow.earlier_answer(key)) is not None:
                return earlier
    now = deps.clock()
    settlement = Settlement.start(f"st-{uuid.uuid4().hex[:12]}", period, now)
    async with deps.uow() as uow:
        await uow.settlements.add(settlement)
        await uow.sagas.add(RunSaga.start(settlement.settlement_id, now))
        if key is not None:
            await uow.keep_answer(key, settlement)
        await uow.commit()
    deps.wake_sagas()
    return settlement


async def get_settlement(deps: Dependencies, settlement_id: str) -> Settlement:
    async with deps.uow() as uow:
        found = await uow.settlements.get(settlement_id)
    if found is None:
        raise SettlementNotFound(settlement_id)
    return found


async def settlements_of(deps: Dependencies, franchise_id: str, before: int | None, limit: int) -> SettlementPage:
    async with deps.uow() as uow:
        return await uow.settlements.with_line_of(franchise_id, before, limit)


async def under_way(deps: Dependencies) -> tuple[int, int]:
    """Runs still running and lines still pending: money may be moving for the latter."""
    async with deps.uow() as uow:
        return await uow.settlements.under_way()


async def ensure_exists(deps: Dependencies, settlement_id: str) -> None:
    async with deps.uow() as uow:
        if not await uow.settlements.exists(settlement_id):
            raise SettlementNotFound(settlement_id)


async def report(deps: Dependencies, settlement_id: str) -> AsyncIterator[list[ReportRow]]:
    """The run's payments, page by page from payment (which holds them): never all of them in memory."""
    cursor: str | None = None
    while True:
        page = await deps.payments.report_page(settlement_id, cursor)
        yield list(page.rows)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def franchise(deps: Dependencies, franchise_id: str) -> Franchise:
    return await deps.franchises.get(franchise_id)


async def ensure_schedule(deps: Dependencies) -> None:
    """At start-up: the schedule saga exists and follows the configured schedule."""
    async with deps.uow() as uow:
        saga = await uow.sagas.lock(SCHEDULE_SAGA_ID)
        if saga is None:
            await uow.sagas.add(ScheduleSaga.start(deps.schedule, deps.clock(), deps.business_timezone))
        elif isinstance(saga, ScheduleSaga) and saga.schedule != deps.schedule:
            saga.reschedule(deps.schedule, deps.clock(), deps.business_timezone)
            await uow.sagas.save(saga)
        await uow.commit()
    deps.wake_sagas()


async def advance_saga(deps: Dependencies, saga_id: str) -> None:
    """The saga's timer is due: a line sends its step's command again or calls payment; a run gathers its
    payments; the schedule starts the day's run."""
    call: FinishCall | ReleaseCall | GatherCall | None = None
    async with deps.uow() as uow:
        now = deps.clock()
        saga = await uow.sagas.lock(saga_id, skip_locked=True)
        if saga is None or not saga.is_due(now):
            return
        match saga:
            case LineSaga():
                call = saga.wake(now, deps.retry, deps.call_lease)
            case RunSaga():
                call = saga.wake(now, deps.gather_lease)
            case ScheduleSaga():
                await _start_scheduled_run(deps, uow, saga)
        await uow.sagas.save(saga)
        await uow.commit()
    match call:
        case FinishCall() | ReleaseCall():
            assert isinstance(saga, LineSaga)
            await _call_payment(deps, saga, call)
        case GatherCall():
            await _gather(deps, saga_id, call)
        case None if isinstance(saga, ScheduleSaga):
            deps.wake_sagas()


async def _start_scheduled_run(deps: Dependencies, uow: UnitOfWork, saga: ScheduleSaga) -> None:
    now = deps.clock()
    day = saga.fire(deps.business_timezone)
    settlement_id = scheduled_settlement_id(day)
    if not await uow.settlements.exists(settlement_id):
        await uow.settlements.add(Settlement.start(settlement_id, Period(day, day), now))
        await uow.sagas.add(RunSaga.start(settlement_id, now))


@dataclass(frozen=True)
class _Found:
    claimed: Claimed
    # None: the franchise service does not know the franchise.
    franchise: Franchise | None


async def _gather(deps: Dependencies, settlement_id: str, call: GatherCall) -> None:
    """Have payment claim the run's payments and read their franchises, with the run's saga unlocked (its lease
    keeps others away), then start the lines, if the saga still waits for this attempt. Payment answers a claim
    asked again with the same sums, so an attempt that failed after the claim finds it again."""
    settlement = await get_settlement(deps, settlement_id)
    try:
        found = await _look_up(deps, settlement_id, settlement.period)
    except DownstreamUnavailable as error:
        await _gather_failed(deps, settlement_id, call, str(error))
        return
    try:
        await _record_lines(deps, settlement_id, call, found)
    except Exception as error:
        _log.exception("settlement_gather_failed")
        await _gather_failed(deps, settlement_id, call, type(error).__name__)
        return
    deps.wake_sagas()


async def _look_up(deps: Dependencies, settlement_id: str, period: Period) -> list[_Found]:
    claimed = await deps.payments.claim(settlement_id, period)
    reads = asyncio.Semaphore(FRANCHISE_READS)

    async def franchise_of(what: Claimed) -> _Found:
        async with reads:
            try:
                return _Found(what, await deps.franchises.get(what.franchise_id))
            except FranchiseNotFound:
                return _Found(what, None)

    return list(await asyncio.gather(*(franchise_of(what) for what in claimed)))


async def _gather_failed(deps: Dependencies, settlement_id: str, call: GatherCall, reason: str) -> None:
    async with deps.uow() as uow:
        saga = await uow.sagas.lock(settlement_id)
        if isinstance(saga, RunSaga) and saga.gathers(call.attempt):
            saga.gather_failed(reason, deps.clock(), deps.retry)
            await uow.sagas.save(saga)
            await uow.commit()


async def _record_lines(deps: Dependencies, settlement_id: str, call: GatherCall, found: list[_Found]) -> None:
    async with deps.uow() as uow:
        saga = await uow.sagas.lock(settlement_id)
        if not isinstance(saga, RunSaga) or not saga.gathers(call.attempt):
            return
        settlement = await uow.settlements.get(settlement_id, for_update=True)
        assert settlement is not None, f"run saga {settlement_id} without its settlement"
        now = deps.clock()
        # Franchises in one order, so that runs claiming the same franchise's debts wait rather than deadlock.
        for what in sorted(found, key=lambda what: what.claimed.franchise_id):
            line, failure = await _line(uow, settlement_id, what)
            settlement.lines.append(line)
            await uow.settlements.add_line(line)
            account = what.franchise.account if what.franchise is not None else None
            await uow.sagas.add(
                LineSaga.start(
                    line.key,
                    settlement_id,
                    line.franchise_id,
                    line.sums.fee,
                    line.sums.payout,
                    deps.corporate_account,
                    account,
                    now,
                    deps.retry,
                    failure,
                )
            )
        saga.gathered()
        await uow.sagas.save(saga)
        settlement.gathered = True
        settlement.refresh(now)
        await uow.settlements.save(settlement)
        await uow.commit()


async def _line(uow: UnitOfWork, settlement_id: str, what: _Found) -> tuple[Line, str | None]:
    """The franchise's line of the run over what payment claimed and the debts it carries, and why it cannot be
    settled, if it cannot (its saga then only gives the payments back)."""
    claimed = what.claimed
    if what.franchise is None:
        return Line(settlement_id, claimed.franchise_id, LineSums.of(claimed), claimed.payment_count), (
            "franchise-not-found"
        )
    key = line_key(settlement_id, claimed.franchise_id)
    line = Line(
        settlement_id,
        claimed.franchise_id,
        LineSums.of(claimed, await uow.debts.claim(key, claimed.franchise_id)),
        claimed.payment_count,
    )
    if line.sums.payout > 0 and what.franchise.account is None:
        await uow.debts.release(key)
        return line, "no-settlement-account"
    return line, None


async def ledger_answered(
    deps: Dependencies, message_id: str, saga_id: str, transaction_id: str, failure: str | None
) -> None:
    """Money's answer to a settlement a line sent; `failure` is None when it was applied."""
    async with deps.uow() as uow:
        if not await uow.inbox.first_delivery(LEDGER_CONSUMER, message_id):
            return
        saga = await uow.sagas.lock(saga_id)
        if isinstance(saga, LineSaga) and saga.awaits_ledger(transaction_id):
            saga.ledger_answered(transaction_id, failure, deps.clock(), deps.retry)
            if failure is not None and not saga.is_finished:
                _log.error("settlement_refused_after_payout", extra={"line": saga_id, "reason": failure})
            await _store(deps, uow, saga)
        await uow.commit()
    deps.wake_sagas()


async def payout_answered(
    deps: Dependencies,
    message_id: str,
    saga_id: str,
    transfer_id: str,
    firmbanking_request_id: str,
    failure: str | None,
) -> None:
    """Banking's answer to a line's payout; `failure` is None when the bank paid."""
    async with deps.uow() as uow:
        if not await uow.inbox.first_delivery(PAYOUT_CONSUMER, message_id):
            return
        saga = await uow.sagas.lock(saga_id)
        if isinstance(saga, LineSaga) and saga.awaits_payout(transfer_id):
            saga.payout_answered(transfer_id, firmbanking_request_id, failure, deps.clock(), deps.retry)
            await _store(deps, uow, saga)
        await uow.commit()


async def _call_payment(deps: Dependencies, saga: LineSaga, call: FinishCall | ReleaseCall) -> None:
    """Tell payment the line's payments are settled, or to give them back, with the saga unlocked; record the
    answer if it is still wanted."""
    try:
        if isinstance(call, FinishCall):
            await deps.payments.finish(saga.settlement_id, saga.franchise_id)
        else:
            await deps.payments.release(saga.settlement_id, saga.franchise_id)
        done = True
    except DownstreamUnavailable as error:
        _log.warning("settlement_payment_call_failed", extra={"line": saga.saga_id, "error": str(error)})
        done = False
    async with deps.uow() as uow:
        locked = await uow.sagas.lock(saga.saga_id)
        if isinstance(locked, LineSaga) and locked.calls(call.attempt):
            locked.call_answered(call.attempt, done, deps.clock(), deps.retry)
            await _store(deps, uow, locked)
        await uow.commit()


async def _store(deps: Dependencies, uow: UnitOfWork, saga: LineSaga) -> None:
    """Save the line's saga; a line that has ended ends in its run in the same transaction: a failed one gives
    back the debts it claimed (payment gave its payments back already), a successful one leaves what it carried to
    the franchise's next line."""
    await uow.sagas.save(saga)
    if not saga.is_finished:
        return
    now = deps.clock()
    # The run is locked first, so that its lines' endings take turns and the last one sees every other's.
    settlement = await uow.settlements.lock_run(saga.settlement_id)
    assert settlement is not None, f"line saga {saga.saga_id} without its settlement"
    line = await uow.settlements.line(saga.settlement_id, saga.franchise_id)
    assert line is not None, f"line saga {saga.saga_id} without its line"
    line.end(saga.failure if saga.step is Step.FAILED else None)
    if line.status is LineStatus.FAILED:
        await uow.debts.release(line.key)
    elif line.sums.carried > 0:
        await uow.debts.carry(CarriedDebt(line.key, line.franchise_id, line.sums.carried))
    await uow.settlements.save_line(line)
    settlement.refresh_from(await uow.settlements.line_statuses(saga.settlement_id), now)
    await uow.settlements.save(settlement)
