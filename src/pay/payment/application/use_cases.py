"""The payment operations, one function each."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypeVar

from pay.payment.application.ports import (
    Clock,
    EndWatch,
    Franchises,
    LinkedAccounts,
    Members,
    Page,
    PriorAnswer,
    RefundPage,
    RequestKey,
    UnitOfWork,
    Wallets,
)
from pay.payment.domain.model import (
    BankAccount,
    FranchiseClaim,
    FranchiseInvalid,
    FranchiseNotFound,
    Payment,
    PaymentMethod,
    PaymentNotFound,
    Refund,
    RefundNotFound,
    RefundStatus,
    SettlementLineNotFound,
    ensure_period,
    recharge_for,
)
from pay.payment.domain.saga import Backoff, PaymentSaga, RefundSaga, Saga

T = TypeVar("T")

LEDGER_CONSUMER = "payment-ledger-answers"
TRANSFER_CONSUMER = "payment-firmbanking-answers"


@dataclass(frozen=True)
class Dependencies:
    uow: Callable[[], UnitOfWork]
    members: Members
    franchises: Franchises
    linked_accounts: LinkedAccounts
    wallets: Wallets
    clock: Clock
    corporate_account: BankAccount
    retry: Backoff
    watch: EndWatch
    answer_within_seconds: float = 5.0


@dataclass(frozen=True)
class PaymentOrder:
    payer: str
    franchise_id: str
    price: int
    method: PaymentMethod
    order_id: str | None = None


async def request_payment(
    deps: Dependencies, order: PaymentOrder, key: RequestKey | None = None
) -> Payment | PriorAnswer:
    """Check the payer and the franchise (and the payer's wallet or linked account), then record the payment at
    the franchise's fee rate of now and start its saga, in one transaction with its Idempotency-Key. A key used
    before gets its earlier answer and starts nothing; a refusal or a service not answering records nothing."""
    if key is not None:
        async with deps.uow() as uow:
            if (earlier := await uow.earlier_answer(key)) is not None:
                return earlier
    funds: Awaitable[int | BankAccount] = (
        deps.wallets.available(order.payer)
        if order.method is PaymentMethod.WALLET
        else deps.linked_accounts.of(order.payer)
    )
    # Asked at the same time; a refusal is raised in this order, whichever came first, so that the same
    # request always gets the same one.
    standing, found, answered_funds = await asyncio.gather(
        deps.members.ensure_valid(order.payer), deps.franchises.get(order.franchise_id), funds, return_exceptions=True
    )
    _given(standing)
    franchise, available_or_account = _given(found), _given(answered_funds)
    if not franchise.is_valid:
        raise FranchiseInvalid(order.franchise_id)
    recharge = recharge_for(order.price, available_or_account) if isinstance(available_or_account, int) else 0
    account = available_or_account if isinstance(available_or_account, BankAccount) else None
    now = deps.clock()
    payment = Payment.request(
        str(uuid.uuid4()),
        order.payer,
        order.franchise_id,
        order.price,
        order.method,
        franchise.fee_rate,
        now,
        order_id=order.order_id,
        payer_account=account,
    )
    saga = PaymentSaga.start(payment, recharge, deps.corporate_account, now, deps.retry)
    async with deps.uow() as uow:
        await uow.payments.add(payment)
        await uow.sagas.add(saga)
        if key is not None:
            await uow.keep_answer(key, payment)
        await uow.commit()
    return payment


def _given(answer: T | BaseException) -> T:
    if isinstance(answer, BaseException):
        raise answer
    return answer


async def get_payment(deps: Dependencies, payment_id: str) -> Payment:
    async with deps.uow() as uow:
        found = await uow.payments.get(payment_id)
    if found is None:
        raise PaymentNotFound(payment_id)
    return found


async def get_refund(deps: Dependencies, refund_id: str) -> Refund:
    async with deps.uow() as uow:
        found = await uow.refunds.get(refund_id)
    if found is None:
        raise RefundNotFound(refund_id)
    return found


async def owns_franchise(deps: Dependencies, membership_id: str, franchise_id: str) -> bool:
    """Whether the member owns the franchise, as the franchise service says now."""
    try:
        franchise = await deps.franchises.get(franchise_id)
    except FranchiseNotFound:
        return False
    return franchise.owner_membership_id == membership_id


async def may_see(deps: Dependencies, payment: Payment, membership_id: str) -> bool:
    """A member sees (and may cancel) a payment it made, or one made at a franchise it owns."""
    return payment.payer == membership_id or await owns_franchise(deps, membership_id, payment.franchise_id)


async def wait_for_payment(deps: Dependencies, started: Payment, seconds: float) -> Payment:
    """The payment once approved or failed, or as it stands when `seconds` have passed."""
    return await deps.watch.until_ended(
        started.payment_id, partial(get_payment, deps, started.payment_id), _payment_ended, started, seconds
    )


async def wait_for_refund(deps: Dependencies, started: Refund, seconds: float) -> Refund:
    return await deps.watch.until_ended(
        started.refund_id, partial(get_refund, deps, started.refund_id), _refund_ended, started, seconds
    )


def _payment_ended(payment: Payment) -> bool:
    return payment.is_final


def _refund_ended(refund: Refund) -> bool:
    return refund.is_final


async def cancel_payment(
    deps: Dependencies, payment_id: str, amount: int | None, key: RequestKey | None = None
) -> Refund | PriorAnswer:
    """Refund `amount` (all that is left when None): reserved under the payment's row lock, so that concurrent
    cancels never refund more than the price together, and recorded with its saga and Idempotency-Key."""
    async with deps.uow() as uow:
        if key is not None and (earlier := await uow.earlier_answer(key)) is not None:
            return earlier
        payment = await uow.payments.get(payment_id, for_update=True)
        if payment is None:
            raise PaymentNotFound(payment_id)
        now = deps.clock()
        refund = payment.start_refund(str(uuid.uuid4()), amount, now)
        await uow.payments.save(payment)
        await uow.refunds.add(refund)
        await uow.sagas.add(RefundSaga.start(payment, refund, deps.corporate_account, now, deps.retry))
        if key is not None:
            await uow.keep_answer(key, refund)
        await uow.commit()
    return refund


async def refunds_of(deps: Dependencies, payment_id: str, after: str | None, limit: int) -> RefundPage:
    async with deps.uow() as uow:
        return await uow.refunds.of_payment(payment_id, after, limit)


async def approved_between(
    deps: Dependencies, start: datetime, end: datetime, franchise_id: str | None, after: str | None, limit: int
) -> Page:
    async with deps.uow() as uow:
        return await uow.payments.approved_between(start, end, franchise_id, after, limit)


async def unsettled(
    deps: Dependencies,
    franchise_id: str | None,
    start: datetime | None,
    end: datetime | None,
    after: str | None,
    limit: int,
) -> Page:
    async with deps.uow() as uow:
        return await uow.payments.unsettled(franchise_id, start, end, after, limit)


async def owed_refunds(deps: Dependencies, franchise_id: str | None, after: str | None, limit: int) -> RefundPage:
    async with deps.uow() as uow:
        return await uow.refunds.owed(franchise_id, after, limit)


async def claim_for_settlement(
    deps: Dependencies, settlement_id: str, since: datetime, until: datetime
) -> list[FranchiseClaim]:
    """Claim for the settlement, in one transaction, what it settles of each franchise (payments approved in
    [since, until) and settleable, and the refunds those franchises owe), and answer the sums per franchise. Asking
    again answers the same and claims nothing more."""
    ensure_period(since, until)
    async with deps.uow() as uow:
        claimed = await uow.settlement_claims.claim(settlement_id, since, until, deps.clock())
        await uow.commit()
    return claimed


async def finish_settlement(deps: Dependencies, settlement_id: str, franchise_id: str) -> FranchiseClaim:
    """The settlement's line of the franchise has settled: its payments become SETTLED and its owed refunds
    deducted, once; asking again answers the same."""
    async with deps.uow() as uow:
        claim = await _claim_of(uow, settlement_id, franchise_id)
        if claim.finish():
            await uow.settlement_claims.settled(claim, deps.clock())
            await uow.commit()
    return claim


async def release_settlement(deps: Dependencies, settlement_id: str, franchise_id: str) -> FranchiseClaim:
    """The settlement's line of the franchise failed: its payments and refunds are given back for a later
    settlement, once; asking again answers the same."""
    async with deps.uow() as uow:
        claim = await _claim_of(uow, settlement_id, franchise_id)
        if claim.release():
            await uow.settlement_claims.released(claim, deps.clock())
            await uow.commit()
    return claim


async def _claim_of(uow: UnitOfWork, settlement_id: str, franchise_id: str) -> FranchiseClaim:
    claim = await uow.settlement_claims.get(settlement_id, franchise_id, for_update=True)
    if claim is None:
        raise SettlementLineNotFound(f"{settlement_id} claimed nothing of {franchise_id}")
    return claim


async def settled_by(deps: Dependencies, settlement_id: str, after: str | None, limit: int) -> Page:
    async with deps.uow() as uow:
        return await uow.settlement_claims.payments_of(settlement_id, after, limit)


async def unfinished_sagas(deps: Dependencies) -> int:
    """Payments and refunds whose money is still moving: `pay reconcile` pairs the bank and the ledger at rest."""
    async with deps.uow() as uow:
        return await uow.sagas.count_unfinished()


async def ledger_answered(
    deps: Dependencies, message_id: str, saga_id: str, transaction_id: str, failure: str | None
) -> None:
    """Money's answer to a ledger command a payment or refund saga sent; `failure` is None when it was applied."""
    await _step(
        deps,
        LEDGER_CONSUMER,
        message_id,
        saga_id,
        lambda saga: saga.awaits_ledger(transaction_id),
        lambda saga: saga.ledger_answered(transaction_id, failure, deps.clock(), deps.retry),
    )


async def transfer_answered(
    deps: Dependencies,
    message_id: str,
    saga_id: str,
    transfer_id: str,
    firmbanking_request_id: str,
    failure: str | None,
) -> None:
    """Banking's answer to a transfer a payment or refund saga asked for; `failure` is None when the bank moved
    the money, else the bank's reason."""
    await _step(
        deps,
        TRANSFER_CONSUMER,
        message_id,
        saga_id,
        lambda saga: saga.awaits_transfer(transfer_id),
        lambda saga: saga.transfer_answered(transfer_id, firmbanking_request_id, failure, deps.clock(), deps.retry),
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
    awaits: Callable[[Saga], bool],
    answer: Callable[[Saga], None],
) -> None:
    """An answer, once per message, to the saga that waits for it (another saga's answer, or a late copy,
    changes nothing); the payment or refund ends with its saga, in the same transaction."""
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


async def _end(deps: Dependencies, uow: UnitOfWork, saga: Saga) -> None:
    now = deps.clock()
    if isinstance(saga, PaymentSaga):
        payment = await uow.payments.get(saga.saga_id, for_update=True)
        assert payment is not None, f"saga {saga.saga_id} without its payment"
        payment.end(saga.failure, now)
        await uow.payments.save(payment)
        return
    # The payment first, then the refund: the order every writer of both takes.
    payment = await uow.payments.get(saga.payment_id, for_update=True)
    refund = await uow.refunds.get(saga.saga_id, for_update=True)
    assert payment is not None and refund is not None, f"saga {saga.saga_id} without its refund"
    refund.end(saga.failure, now)
    assert refund.status is (RefundStatus.SUCCEEDED if saga.failure is None else RefundStatus.FAILED)
    payment.refund_ended(refund, now)
    await uow.refunds.save(refund)
    await uow.payments.save(payment)
