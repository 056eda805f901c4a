"""`pay money rebuild` checks payables and revenue too: every ledger transaction must balance across wallets,
payables, revenue and the bank, and one that does not is named with what it is off by."""

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from pay.contracts.money import LedgerTransactionSucceeded, PayFromWallet
from pay.money.adapters.tables import account_entries

from money_support import FakeBanking, Saga, transaction_id


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


async def test_a_transaction_that_does_not_balance_is_named_with_what_it_is_off_by(
    client: httpx.AsyncClient,
    saga: Saga,
    new_member: Callable[..., Any],
    banking: FakeBanking,
    admin_headers: dict[str, str],
    engine: AsyncEngine,
) -> None:
    payer = await new_member(10_000, banking=banking)
    franchise = f"franchise-{uuid.uuid4()}"
    paid = PayFromWallet(
        ledger_transaction_id=transaction_id(), franchise_id=franchise, membership_id=payer.membership_id, amount=700
    )
    assert isinstance(await saga.send(paid), LedgerTransactionSucceeded)
    before = (await client.get("/money/rebuild-check", headers=admin_headers)).json()
    assert before["unbalancedCount"] == 0 and before["ledgerTransactionsChecked"] > 0

    # A payable credited with no wallet, account or bank transfer paying for it: money out of nowhere.
    forged = f"forged-{uuid.uuid4()}"
    async with engine.begin() as connection:
        await connection.execute(
            account_entries.insert().values(
                request_id=forged, kind="PAYABLE", franchise_id=franchise, amount=250, occurred_at=datetime.now(UTC)
            )
        )

    after = (await client.get("/money/rebuild-check", headers=admin_headers)).json()
    assert after["unbalancedCount"] == 1
    assert after["unbalanced"] == [{"ledgerTransactionId": forged, "offBy": 250}]
    assert after["ledgerTransactionsChecked"] == before["ledgerTransactionsChecked"] + 1
