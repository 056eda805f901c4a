"""Databases for the services: one per service, on the embedded or an external PostgreSQL server."""

import asyncpg
from sqlalchemy.engine import make_url


def service_database_url(server_url: str, database: str) -> str:
    """The asyncpg URL of `database` on the server that `server_url` points at."""
    return (
        make_url(server_url)
        .set(drivername="postgresql+asyncpg", database=database)
        .render_as_string(hide_password=False)
    )


async def ensure_database(server_url: str, database: str) -> None:
    url = make_url(server_url)
    maintenance = url.set(drivername="postgresql", database=url.database or "postgres")
    connection = await asyncpg.connect(
        user=maintenance.username,
        password=maintenance.password,
        host=maintenance.host or maintenance.query.get("host"),
        port=maintenance.port,
        database=maintenance.database,
    )
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            # Identifiers cannot be bound as parameters; service names are our own constants.
            await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()
