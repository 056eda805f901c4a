"""Transfers, committed in groups.

Every transfer that arrives while a transaction is being written joins the next one, so a busy
service pays for one lock round, one journal write and one commit per group instead of per
transfer. Each transfer in a group still succeeds or fails on its own: one that would overdraw is
refused and the others go through; when the transaction as a whole fails, none of them happened.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pay.money.application.ports import Clock, UnitOfWork
from pay.money.domain import wallet
from pay.money.domain.requests import ChangeType, MoneyChangingRequest
from pay.money.domain.wallet import BalanceLimitExceeded, InsufficientBalance, WalletNotFound

Outcome = MoneyChangingRequest | WalletNotFound | InsufficientBalance | BalanceLimitExceeded


@dataclass(frozen=True)
class TransferOrder:
    source: str
    target: str
    amount: int


async def transfer_together(
    uow_factory: Callable[[], UnitOfWork], clock: Clock, balance_limit: int, orders: Sequence[TransferOrder]
) -> list[Outcome]:
    """Apply the orders in arrival order in one transaction; the outcome of each, in the same order."""
    now = clock()
    outcomes: list[Outcome] = []
    succeeded: list[MoneyChangingRequest] = []
    async with uow_factory() as uow:
        # One lock round for the whole group, in key order, so groups and single changes never deadlock.
        wallets = await uow.wallets.lock(sorted({o.source for o in orders} | {o.target for o in orders}))
        for order in orders:
            request = MoneyChangingRequest.new(
                str(uuid.uuid4()), ChangeType.TRANSFER, order.source, order.amount, now, order.target
            )
            try:
                for membership_id in (order.source, order.target):
                    if membership_id not in wallets:
                        raise WalletNotFound(membership_id)
                wallet.transfer(
                    wallets[order.source], wallets[order.target], order.amount, request.request_id, now, balance_limit
                )
            except (WalletNotFound, InsufficientBalance, BalanceLimitExceeded) as refusal:
                outcomes.append(refusal)
                continue
            request.succeed(now)
            succeeded.append(request)
            outcomes.append(request)
        if succeeded:
            await uow.requests.add(*succeeded)
            await uow.wallets.save(*(changed for changed in wallets.values() if changed.changes))
            await uow.commit()
    return outcomes


class TransferDesk(Protocol):
    """Where transfers queue to be written together with the others arriving at the same time.

    The composition root builds it from `transfer_together` (see `pay.platform.batching`).
    """

    async def submit(self, order: TransferOrder) -> MoneyChangingRequest: ...
