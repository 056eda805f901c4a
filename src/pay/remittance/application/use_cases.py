"""The remittance operations, one function each."""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from functools import partial

from pay.remittance.application.ports import (
    BankAccounts,
    Clock,
    EndWatch,
    HistoryPage,
    Members,
    PriorAnswer,
    RequestKey,
    UnitOfWork,
    Wallets,
)
from pay.remittance.domain.model import (
    BankTarget,
    DailyLimitExceeded,
    ReceiverInvalid,
    ReceiverNotFound,
    Remittance,
    RemittanceNotFound,
    RemittanceType,
    SenderInvalid,
    SenderNotFound,
    business_day,
    ensure_within_daily_limit,
    recharge_for,
)
from pay.remittance.domain.saga import Backoff, RemittanceSaga

_log = logging.getLogger(__name__)

LEDGER_CONSUMER = "remittance-ledger-answers"
PAYOUT_CONSUMER = "remittance-payout-answers"


@dataclass(frozen=True)
class Dependencies:
    uow: Callable[[], UnitOfWork]
    members: Members
    bank_accounts: BankAccounts
    wallets: Wallets
    clock: Clock
    corporate_account: BankTarget
    daily_limit: int
    business_timezone: tzinfo
    retry: Backoff
    watch: EndWatch
    answer_within_seconds: float = 5.0
    wake_sagas: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class RemittanceOrder:
    """What a sender asks: `to_membership_id` for MEMBERSHIP, `to_bank` for BANK."""

    from_membership_id: str
    remittance_type: RemittanceType
    amount: int
    to_membership_id: str | None = None
    to_bank: BankTarget | None = None


async def request_remittance(
    deps: Dependencies, order: RemittanceOrder, key: RequestKey | None = None
) -> Remittance | PriorAnswer:
    """Check the sender, the receiver and the daily limit, then record the remittance and start its saga, in
    one transaction with its Idempotency-Key. A key used before gets its earlier answer and starts nothing."""
    if key is not None:
        async with deps.uow() as uow:
            if (earlier := await uow.earlier_answer(key)) is not None:
                return earlier
    now = deps.clock()
    day = business_day(now, deps.business_timezone)
    remittance_id = str(uuid.uuid4())
    if order.remittance_type is RemittanceType.MEMBERSHIP:
        assert order.to_membership_id is not None
        remittance = Remittance.to_member(
            remittance_id, order.from_membership_id, order.to_membership_id, order.amount, day, now
        )
    else:
        assert order.to_bank is not None
        remittance = Remittance.to_bank_account(
            remittance_id, order.from_membership_id, order.to_bank, order.amount, day, now
        )
    ensure_within_daily_limit(0, order.amount, deps.daily_limit)
    await deps.members.ensure_valid(order.from_membership_id, missing=SenderNotFound, invalid=SenderInvalid)
    if order.to_membership_id is not None:
        await deps.members.ensure_valid(order.to_membership_id, missing=ReceiverNotFound, invalid=ReceiverInvalid)
    if order.to_bank is not None:
        await deps.bank_accounts.ensure_usable(order.to_bank)
    recharge = recharge_for(order.amount, await deps.wallets.available(order.from_membership_id))
    saga = RemittanceSaga.start(remittance, recharge, deps.corporate_account, now, deps.retry)
    async with deps.uow() as uow:
        if not await uow.daily_totals.add_within(order.from_membership_id, day, order.amount, deps.daily_limit):
            raise DailyLimitExceeded(f"{order.amount} won more would pass today's limit of {deps.daily_limit} won")
        await uow.remittances.add(remittance)
        await uow.sagas.add(saga)
        if key is not None:
            await uow.keep_answer(key, remittance)
        await uow.commit()
    return remittance


async def get_remittance(deps: Dependencies, remittance_id: str) -> Remittance:
    async with deps.uow() as uow:
        found = await uow.remittances.get(remittance_id)
    if found is None:
        raise RemittanceNotFound(remittance_id)
    return found


async def wait_for(deps: Dependencies, started: Remittance, seconds: float) -> Remittance:
    """The remittance once it has ended, or as it stands when `seconds` have passed."""
    return await deps.watch.until_ended(
        started.remittance_id, partial(get_remittance, deps, started.remittance_id), _has_ended, started, seconds
    )


def _has_ended(remittance: Remittance) -> bool:
    return remittance.is_final


async def history(deps: Dependencies, membership_id: str, before: int | None, limit: int) -> HistoryPage:
    async with deps.uow() as uow:
        return await uow.remittances.of_member(membership_id, before, limit)


async def unfinished_sagas(deps: Dependencies) -> int:
    """Remittances whose money is still moving: `pay reconcile` pairs the bank and the ledger only at rest."""
    async with deps.uow() as uow:
        return await uow.sagas.count_unfinished()


async def saga_of(deps: Dependencies, remittance_id: str) -> RemittanceSaga:
    """The remittance's saga, as it stands: which ledger transactions and payout it caused."""
    async with deps.uow() as uow:
        saga = await uow.sagas.get(remittance_id)
    if saga is None:
        raise RemittanceNotFound(remittance_id)
    return saga


async def ledger_answered(
    deps: Dependencies, message_id: str, saga_id: str, transaction_id: str, failure: str | None
) -> None:
    """Money's answer to a ledger command a remittance saga sent; `failure` is None when it was applied."""
    await _step(
        deps,
        LEDGER_CONSUMER,
        message_id,
        saga_id,
        lambda saga: saga.awaits_ledger(transaction_id),
        lambda saga: saga.ledger_answered(transaction_id, failure, deps.clock(), deps.retry),
    )


async def payout_answered(
    deps: Dependencies,
    message_id: str,
    saga_id: str,
    transfer_id: str,
    firmbanking_request_id: str,
    failure: str | None,
) -> None:
    """Banking's answer to a payout a remittance saga asked for; `failure` is None when the bank paid."""
    await _step(
        deps,
        PAYOUT_CONSUMER,
        message_id,
        saga_id,
        lambda saga: saga.awaits_payout(transfer_id),
        lambda saga: saga.payout_answered(transfer_id, firmbanking_request_id, failure, deps.clock(), deps.retry),
    )


async def advance_saga(deps: Dependencies, saga_id: str) -> None:
    """The saga's timer is due: no answer came, so its step's command is sent again."""
    async with deps.uow() as uow:
        saga = await uow.sagas.lock(saga_id, skip_locked=True)
        if saga is None or not saga.is_due(deps.clock()):
            return
        saga.wake(deps.clock(), deps.retry)
        await uow.sagas.save(saga)
        await uow.commit()


async def _step(
    deps: Dependencies,
    consumer: str,
    message_id: str,
    saga_id: str,
    awaits: Callable[[RemittanceSaga], bool],
    answer: Callable[[RemittanceSaga], None],
) -> None:
    """An answer, once per message, to the saga that waits for it (another saga's answer, or a late copy,
    changes nothing); the remittance ends with its saga, in the same transaction."""
    async with deps.uow() as uow:
        if not await uow.inbox.first_delivery(consumer, message_id):
            return
        saga = await uow.sagas.lock(saga_id)
        if saga is None or not awaits(saga):
            await uow.commit()
            return
        answer(saga)
        await uow.sagas.save(saga)
        if saga.is_finished:
            await _end(deps, uow, saga)
        await uow.commit()
    if saga.is_finished:
        deps.watch.ended(saga.saga_id)


async def _end(deps: Dependencies, uow: UnitOfWork, saga: RemittanceSaga) -> None:
    remittance = await uow.remittances.get(saga.saga_id, for_update=True)
    assert remittance is not None, f"saga {saga.saga_id} without its remittance"
    remittance.end(saga.failure, saga.recharged, deps.clock())
    await uow.remittances.save(remittance)
    if saga.failure is not None:
        # Nothing was sent: the amount no longer counts toward the sender's limit of that day.
        await uow.daily_totals.give_back(remittance.from_membership_id, remittance.business_day, remittance.amount)
