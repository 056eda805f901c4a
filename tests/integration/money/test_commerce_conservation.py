"""Conservation in money's ledger under any mix of commerce commands (hypothesis): whatever is applied or
refused, the wallets, the payable and revenue together change by exactly what the bank legs say moved in or
out of the corporate account."""

import uuid
from collections.abc import Callable
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pay.contracts.money import (
    CreditPayable,
    LedgerCommand,
    LedgerTransactionSucceeded,
    PayFromWallet,
    RefundFromPayable,
    RefundToWallet,
    SettlePayable,
)

from money_support import FakeBanking, Member, Saga, bank_legs, transaction_id, wallet

amounts = st.integers(1, 30_000)
moves = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(0, 1), amounts),
        st.tuples(st.just("refund-to-wallet"), st.integers(0, 1), amounts),
        st.tuples(st.just("credit"), amounts),
        st.tuples(st.just("refund-to-bank"), amounts),
        st.tuples(st.just("settle"), st.integers(0, 2_000), st.integers(0, 40_000)),
    ),
    min_size=1,
    max_size=12,
)


def command(move: tuple[Any, ...], franchise: str, payers: list[Member]) -> LedgerCommand:
    ids: dict[str, Any] = {"ledger_transaction_id": transaction_id(), "franchise_id": franchise}
    match move:
        case ("pay", payer, amount):
            return PayFromWallet(**ids, membership_id=payers[payer].membership_id, amount=amount)
        case ("refund-to-wallet", payer, amount):
            return RefundToWallet(**ids, membership_id=payers[payer].membership_id, amount=amount)
        case ("credit", amount):
            return CreditPayable(**ids, amount=amount, bank_transfer_id=f"charge-{uuid.uuid4()}")
        case ("refund-to-bank", amount):
            return RefundFromPayable(**ids, amount=amount, bank_transfer_id=f"refund-{uuid.uuid4()}")
        case ("settle", fee, payout):
            transfer = f"payout-{uuid.uuid4()}" if payout else None
            return SettlePayable(**ids, fee=fee or (0 if payout else 1), payout=payout, bank_transfer_id=transfer)
    raise AssertionError(move)


async def totals(client: httpx.AsyncClient, headers: dict[str, str], franchise: str, payers: list[Member]) -> int:
    """What the ledger holds for these two payers and this franchise, revenue included."""
    held = sum([sum(await wallet(client, payer)) for payer in payers])
    payable = (await client.get(f"/money/payables/{franchise}", headers=headers)).json()["balance"]
    revenue = (await client.get("/money/summary", headers=headers)).json()["revenue"]
    return int(held + payable + revenue)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=moves)
async def test_the_ledger_changes_by_exactly_what_moved_at_the_bank(
    client: httpx.AsyncClient,
    saga: Saga,
    new_member: Callable[..., Any],
    banking: FakeBanking,
    admin_headers: dict[str, str],
    steps: list[tuple[Any, ...]],
) -> None:
    payers = [await new_member(40_000, banking=banking) for _ in range(2)]
    franchise = f"franchise-{uuid.uuid4()}"
    before = await totals(client, admin_headers, franchise, payers)
    named: set[str] = set()

    for step in steps:
        sent = command(step, franchise, payers)
        answer = await saga.send(sent)
        transfer = getattr(sent, "bank_transfer_id", None)
        if transfer is not None and isinstance(answer, LedgerTransactionSucceeded):
            named.add(transfer)

    legs = await bank_legs(client, admin_headers)
    moved_at_the_bank = sum(amount for transfer, (_, amount) in legs.items() if transfer in named)
    assert await totals(client, admin_headers, franchise, payers) - before == moved_at_the_bank
    check = (await client.get("/money/rebuild-check", headers=admin_headers)).json()
    assert check["unbalancedCount"] == 0, check["unbalanced"]
