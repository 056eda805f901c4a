"""Transfers, committed in groups.

Every transfer that arrives while a transaction is being written joins the next one, so a busy
service pays for one journal write and one commit per group instead of per transfer. Each transfer
in a group still succeeds or fails on its own: one that would overdraw is refused and the others go
through; when the transaction as a whole fails, none of them happened. A transfer sent with an
Idempotency-Key stores it with its answer in the same transaction, so key and effect are committed
together or not at all.

A group is first written on a guess: the wallets as this service last saw them, without locking
them, and every key new. The journal takes each wallet's next version only once, so when the guess
was wrong the whole write is refused (`OptimisticConcurrencyConflict`) and the group is written again carefully:
keys looked up, wallets locked.

A transfer is refused when the member acting on its source wallet (not an admin or a service acting for
it) or the member it is sent to was deactivated. The guess reads nothing for this: its write refuses
itself when a guarded wallet is a deactivated member's, and only the careful write looks up who is.
Such a refusal keeps no key: the member may use it again once reactivated.
"""

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pay.money.application.ports import Clock, OptimisticConcurrencyConflict, PriorAnswer, RequestKey, UnitOfWork
from pay.money.domain import wallet
from pay.money.domain.members import (
    MemberDeactivated,
    RecipientDeactivated,
    ensure_may_move_money,
    ensure_may_receive_money,
)
from pay.money.domain.requests import ChangeType, MoneyChangingRequest
from pay.money.domain.wallet import BalanceLimitExceeded, InsufficientBalance, Wallet, WalletNotFound

Refusal = WalletNotFound | InsufficientBalance | BalanceLimitExceeded | MemberDeactivated | RecipientDeactivated
# Refused because of who the member is, not what its wallet holds: its key is not kept.
_UNKEPT = (MemberDeactivated, RecipientDeactivated)
# A transfer's own outcome, or, for a key used before, the earlier answer or why this request is refused.
Outcome = MoneyChangingRequest | Refusal | PriorAnswer | Exception

_log = logging.getLogger(__name__)

# A careful write locks its wallets, so only a key stored meanwhile by a request with the same key can
# refuse it, and the next attempt then finds that key's answer. Three attempts outlast any real race.
CAREFUL_ATTEMPTS = 3


class _Unsure(Exception):
    """The guess would refuse a transfer: a refusal is given only on what a careful write read."""


@dataclass(frozen=True)
class TransferOrder:
    source: str
    target: str
    amount: int
    key: RequestKey | None = None
    # The member acting on its own source wallet; None when an admin or a service acts for it.
    acting_member: str | None = None


async def transfer_together(
    uow_factory: Callable[[], UnitOfWork], clock: Clock, balance_limit: int, orders: Sequence[TransferOrder]
) -> list[Outcome]:
    """Apply the orders in arrival order in one transaction; the outcome of each, in the same order."""
    now = clock()
    try:
        return await _write_group(uow_factory(), now, balance_limit, orders, careful=False)
    except (OptimisticConcurrencyConflict, _Unsure):
        pass
    careful_attempts = 0
    while True:
        try:
            return await _write_group(uow_factory(), now, balance_limit, orders, careful=True)
        except OptimisticConcurrencyConflict:
            careful_attempts += 1
            if careful_attempts == CAREFUL_ATTEMPTS:
                _log.warning("%d transfers refused %d times with their wallets locked", len(orders), careful_attempts)
                raise


async def _write_group(
    uow: UnitOfWork, now: datetime, balance_limit: int, orders: Sequence[TransferOrder], *, careful: bool
) -> list[Outcome]:
    async with uow:
        keyed = {index: order.key for index, order in enumerate(orders) if order.key is not None}
        answered_before: dict[int, Outcome] = {}
        if careful and keyed:
            earlier = zip(keyed, await uow.earlier_answers(list(keyed.values())), strict=True)
            answered_before = {index: answer for index, answer in earlier if answer is not None}
        fresh = [order for index, order in enumerate(orders) if index not in answered_before]
        membership_ids = sorted({o.source for o in fresh} | {o.target for o in fresh})
        guarded = sorted({o.acting_member for o in fresh if o.acting_member is not None} | {o.target for o in fresh})
        wallets: Mapping[str, Wallet] = {}
        deactivated: set[str] = set()
        if membership_ids:
            # Careful: one lock round for the whole group (in key order), so groups and single changes never deadlock.
            wallets = await (uow.wallets.lock if careful else uow.wallets.latest)(membership_ids)
            if careful:
                deactivated = await uow.members.deactivated_among(guarded)
                # Their transfers are refused here; an admin's or a service's may still change their wallets.
                guarded = [membership_id for membership_id in guarded if membership_id not in deactivated]
        outcomes: list[Outcome] = [
            answered_before[index]
            if index in answered_before
            else _apply(order, wallets, deactivated, now, balance_limit)
            for index, order in enumerate(orders)
        ]
        if not careful and any(isinstance(outcome, Refusal) for outcome in outcomes):
            raise _Unsure()
        succeeded = [outcome for outcome in outcomes if isinstance(outcome, MoneyChangingRequest)]
        answers = [
            (key, outcomes[index])
            for index, key in keyed.items()
            if index not in answered_before and not isinstance(outcomes[index], _UNKEPT)
        ]
        if succeeded or answers:
            changed = [changed for changed in wallets.values() if changed.changes]
            await uow.save_transfers(succeeded, changed, answers, guarded)
            await uow.commit()
    return outcomes


def _apply(
    order: TransferOrder, wallets: Mapping[str, Wallet], deactivated: set[str], now: datetime, balance_limit: int
) -> Outcome:
    request = MoneyChangingRequest.new(
        str(uuid.uuid4()), ChangeType.TRANSFER, order.source, order.amount, now, order.target
    )
    try:
        ensure_may_move_money(order.acting_member, deactivated)
        ensure_may_receive_money(order.target, deactivated)
        for membership_id in (order.source, order.target):
            if membership_id not in wallets:
                raise WalletNotFound(membership_id)
        wallet.transfer(
            wallets[order.source], wallets[order.target], order.amount, request.request_id, now, balance_limit
        )
    except (
        WalletNotFound,
        InsufficientBalance,
        BalanceLimitExceeded,
        MemberDeactivated,
        RecipientDeactivated,
    ) as refusal:
        return refusal
    request.succeed(now)
    return request


class TransferDesk(Protocol):
    """Where transfers queue to be written together with the others arriving at the same time.

    The composition root builds it from `transfer_together` (see `pay.platform.batching`).
    """

    async def submit(self, order: TransferOrder) -> MoneyChangingRequest | PriorAnswer: ...
