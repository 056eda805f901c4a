"""Alembic, driven from code: each service keeps its migrations in `pay/<service>/migrations`."""

import asyncio

from alembic import command, context
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from pay.platform.db import KERNEL_METADATA


def upgrade(package: str, database_url: str) -> None:
    """Bring the service's database to the newest revision. Call it from synchronous code."""
    config = Config()
    config.set_main_option("script_location", f"{package}:migrations")
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


def run_migrations() -> None:
    """The body of every service's `migrations/env.py`."""
    url = context.config.attributes["database_url"]
    asyncio.run(_run_online(url))


async def _run_online(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_in_transaction)
            await connection.commit()
    finally:
        await engine.dispose()


def _run_in_transaction(connection: Connection) -> None:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


def create_kernel_tables(bind: Connection) -> None:
    """Outbox, inbox and idempotency keys, in the first migration of every service."""
    KERNEL_METADATA.create_all(bind)


def drop_kernel_tables(bind: Connection) -> None:
    KERNEL_METADATA.drop_all(bind)
