"""Whether every ledger transaction of the journal balances: what it did to wallets, payables and revenue
equals what it moved at the bank (`pay money rebuild`)."""

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pay.money.adapters.tables import account_entries, bank_legs, requests, wallet_events
from pay.money.application.ports import JournalBalance
from pay.money.domain.requests import ChangeType
from pay.money.domain.wallet import EFFECT_ON_BALANCE, WalletEventKind

# A hold another service's saga set and then captured with a command of its own (remittance's payout): the
# wallet records the capture under the hold's transaction, the bank leg under the capture's, and nothing
# links the two. Such holds are checked together, as one transaction, against the payouts of all captures.
CAPTURED_HOLDS = "holds captured by another transaction"


class SqlJournalCheck:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def balance(self, shown: int) -> JournalBalance:
        effect = sa.case(
            {kind.value: sign for kind, sign in EFFECT_ON_BALANCE.items()}, value=wallet_events.c.kind, else_=0
        )
        with_own_leg = sa.select(bank_legs.c.request_id)
        captures = sa.select(requests.c.request_id).where(requests.c.change_type == ChangeType.CAPTURE.value)
        captured_elsewhere = (wallet_events.c.kind == WalletEventKind.HOLD_CAPTURED.value) & (
            wallet_events.c.request_id.not_in(with_own_leg)
        )
        moves = sa.union_all(
            sa.select(
                sa.case((captured_elsewhere, CAPTURED_HOLDS), else_=wallet_events.c.request_id).label("request_id"),
                (wallet_events.c.amount * effect).label("amount"),
            ),
            sa.select(account_entries.c.request_id, account_entries.c.amount),
            # Money into the corporate account is money the platform now holds for someone, and out of it is not.
            sa.select(
                sa.case((bank_legs.c.request_id.in_(captures), CAPTURED_HOLDS), else_=bank_legs.c.request_id),
                -bank_legs.c.amount,
            ),
        ).subquery()
        per_transaction = (
            sa.select(moves.c.request_id, sa.func.sum(moves.c.amount).label("off_by"))
            .group_by(moves.c.request_id)
            .subquery()
        )
        off = per_transaction.c.off_by != 0
        checked, unbalanced = (
            await self._connection.execute(
                sa.select(sa.func.count(), sa.func.count().filter(off)).select_from(per_transaction)
            )
        ).one()
        shown_rows = await self._connection.execute(
            sa.select(per_transaction.c.request_id, per_transaction.c.off_by)
            .where(off)
            .order_by(per_transaction.c.request_id)
            .limit(shown)
        )
        return JournalBalance(int(checked), int(unbalanced), {row.request_id: int(row.off_by) for row in shown_rows})
