"""Every service's migrations produce exactly the schema its code uses: no table, column, index or
type of the SQLAlchemy metadata is missing from a migrated database, and nothing more is there —
whether the database is new or was made by the service's first revision and brought up to date."""

import uuid
from typing import Any

import anyio
import pytest

from pay.cli import SERVICES
from pay.platform.migrations import check, upgrade

from support import provision


@pytest.mark.parametrize("package", SERVICES.values())
async def test_a_new_database_matches_the_metadata(pg: Any, package: str) -> None:
    database_url = await provision(pg, package, f"schema_{uuid.uuid4().hex[:8]}")

    await anyio.to_thread.run_sync(check, package, database_url)


@pytest.mark.parametrize("package", SERVICES.values())
async def test_a_database_of_the_first_revision_is_brought_up_to_date(pg: Any, package: str) -> None:
    database = f"schema_old_{uuid.uuid4().hex[:8]}"
    await anyio.to_thread.run_sync(pg.ensure_database, database)
    database_url = pg.url(database)
    await anyio.to_thread.run_sync(upgrade, package, database_url, "0001")

    await anyio.to_thread.run_sync(upgrade, package, database_url)
    await anyio.to_thread.run_sync(check, package, database_url)
