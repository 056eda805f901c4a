"""Banking's schema: a database made before firm banking requests were sagas upgrades with its requests'
schedules, ends up as banking's tables declare it, and goes back again."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from pay.banking.adapters.db import BankingUnitOfWork
from pay.banking.domain.model import FirmbankingStatus
from pay.platform.infra import EmbeddedPostgres
from pay.platform.migrations import check, downgrade, upgrade

from banking_support import CORPORATE, KB

CREATED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
NEXT_CHECK = CREATED + timedelta(seconds=40)


async def migrate(url: str, revision: str, *, down: bool = False) -> None:
    await anyio.to_thread.run_sync(downgrade if down else upgrade, "pay.banking", url, revision)


def request_row(request_id: str, status: str, **state: Any) -> dict[str, Any]:
    return {
        "firmbanking_request_id": request_id,
        "transfer_id": f"transfer-{request_id}",
        "from_bank_name": KB.bank_name,
        "from_bank_account_number": KB.bank_account_number,
        "to_bank_name": CORPORATE.bank_name,
        "to_bank_account_number": CORPORATE.bank_account_number,
        "money_amount": 5_000,
        "status": status,
        "created_at": CREATED,
        "updated_at": CREATED,
    } | state


async def columns_of(engine: AsyncEngine, table: str) -> set[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: {c["name"] for c in sa.inspect(sync).get_columns(table)})


async def test_requests_of_a_database_before_sagas_become_sagas_and_the_schema_is_as_declared(
    pg: EmbeddedPostgres,
) -> None:
    database = f"banking_migrations_{uuid.uuid4().hex[:8]}"
    await anyio.to_thread.run_sync(pg.ensure_database, database)
    url = pg.url(database)
    await migrate(url, "0001")
    engine = create_async_engine(url)
    try:
        rows = [
            request_row("pending", "REQUESTED", checks=3, next_check_at=NEXT_CHECK),
            request_row("settled", "SUCCEEDED", checks=1, next_check_at=NEXT_CHECK),
        ]
        names = list(rows[0])
        insert = f"INSERT INTO firmbanking_requests ({', '.join(names)}) VALUES ({', '.join(f':{n}' for n in names)})"
        async with engine.begin() as connection:
            await connection.execute(sa.text(insert), rows)

        await migrate(url, "head")

        await anyio.to_thread.run_sync(check, "pay.banking", url)
        uow = BankingUnitOfWork(engine)
        async with uow:
            pending, settled = await uow.requests.get("pending"), await uow.requests.get("settled")
        assert pending is not None and settled is not None
        assert (pending.status, pending.wake_at, pending.checks) == (FirmbankingStatus.REQUESTED, NEXT_CHECK, 3)
        assert (settled.status, settled.wake_at, settled.checks) == (FirmbankingStatus.SUCCEEDED, None, 1)
        async with engine.connect() as connection:
            sagas = (await connection.execute(sa.text("SELECT saga_id, kind, finished FROM sagas"))).all()
        assert sorted(sagas) == [("pending", "firmbanking", False), ("settled", "firmbanking", True)]

        await migrate(url, "0001", down=True)

        assert {"next_check_at", "checks"} <= await columns_of(engine, "firmbanking_requests")
        async with engine.connect() as connection:
            statement = sa.text("SELECT firmbanking_request_id, next_check_at, checks FROM firmbanking_requests")
            back = sorted((await connection.execute(statement)).all())
            assert back == [("pending", NEXT_CHECK, 3), ("settled", CREATED, 1)]
            assert not await connection.run_sync(lambda sync: sa.inspect(sync).has_table("sagas"))
    finally:
        await engine.dispose()
