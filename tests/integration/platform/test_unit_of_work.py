"""The kernel's unit of work never commits a transaction that PostgreSQL would quietly roll back."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from pay.platform.db import SqlUnitOfWork, StatementFailed, create_engine

from support import provision

_INSERT = sa.text("INSERT INTO inbox (consumer, message_id, received_at) VALUES ('test', :id, now())")
_COUNT = sa.text("SELECT count(*) FROM inbox WHERE message_id = ANY(:ids)")


@pytest.fixture(scope="module")
async def engine(pg: Any) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await provision(pg, "pay.bank", f"unit_of_work_{uuid.uuid4().hex[:8]}"))
    yield engine
    await engine.dispose()


async def stored(engine: AsyncEngine, *ids: str) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(_COUNT, {"ids": list(ids)})).scalar_one())


async def test_after_a_failed_statement_the_unit_of_work_refuses_to_commit(engine: AsyncEngine) -> None:
    kept, twice = str(uuid.uuid4()), str(uuid.uuid4())
    async with SqlUnitOfWork(engine) as uow:
        await uow.connection.execute(_INSERT, {"id": twice})
        await uow.commit()

    with pytest.raises(StatementFailed):
        async with SqlUnitOfWork(engine) as uow:
            await uow.connection.execute(_INSERT, {"id": kept})
            with pytest.raises(sa.exc.IntegrityError):
                await uow.connection.execute(_INSERT, {"id": twice})
            await uow.commit()

    assert await stored(engine, kept) == 0
    async with SqlUnitOfWork(engine) as uow:
        await uow.connection.execute(_INSERT, {"id": kept})
        await uow.commit()
    assert await stored(engine, kept) == 1, "the next user of the pooled connection starts clean"


async def test_a_failure_undone_by_its_savepoint_does_not_stop_the_commit(engine: AsyncEngine) -> None:
    kept, twice = str(uuid.uuid4()), str(uuid.uuid4())
    async with SqlUnitOfWork(engine) as uow:
        await uow.connection.execute(_INSERT, {"id": twice})
        await uow.commit()

    async with SqlUnitOfWork(engine) as uow:
        await uow.connection.execute(_INSERT, {"id": kept})
        with pytest.raises(sa.exc.IntegrityError):
            async with uow.connection.begin_nested():
                await uow.connection.execute(_INSERT, {"id": twice})
        await uow.commit()

    assert await stored(engine, kept) == 1


async def test_a_group_of_deliveries_names_only_the_messages_met_for_the_first_time(engine: AsyncEngine) -> None:
    seen, new, repeated = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.inbox.first_delivery("test", seen)
        await uow.commit()

    async with SqlUnitOfWork(engine) as uow:
        assert await uow.inbox.first_deliveries("test", [seen, new, repeated, repeated]) == {new, repeated}
        assert await uow.inbox.first_deliveries("test", [new, repeated]) == set()
        await uow.commit()

    assert await stored(engine, seen, new, repeated) == 3
