"""What money caches of its wallets never gets ahead of the database."""

import uuid
from datetime import UTC, datetime

import pytest

from pay.money.adapters.db import MoneyUnitOfWork
from pay.money.adapters.wallet_cache import WalletCache
from pay.money.application.ports import OptimisticConcurrencyConflict
from pay.money.domain.wallet import Wallet
from pay.platform.db import StatementFailed, create_engine

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def test_a_unit_of_work_whose_wallet_write_failed_cannot_commit(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=2)
    cache = WalletCache()
    membership_id = str(uuid.uuid4())
    try:
        async with MoneyUnitOfWork(engine, lambda: None, cache) as uow:
            await uow.wallets.add(Wallet.open(membership_id, NOW))
            await uow.commit()
        async with MoneyUnitOfWork(engine, lambda: None, cache) as uow:
            outdated = Wallet(membership_id, version=0)  # as if read before the wallet opened
            outdated.credit(1_000, "r", NOW, 10**13)
            with pytest.raises(OptimisticConcurrencyConflict):
                await uow.wallets.save(outdated)
            with pytest.raises(StatementFailed):
                await uow.commit()
        async with MoneyUnitOfWork(engine, lambda: None, cache) as uow:
            assert (await uow.wallets.latest([membership_id]))[membership_id] == Wallet(membership_id, version=1)
    finally:
        await engine.dispose()
