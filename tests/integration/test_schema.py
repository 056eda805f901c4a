"""Every service's migrations produce exactly the schema its code uses: no table, column, index or
type of the SQLAlchemy metadata is missing from a freshly migrated database, and nothing more is there."""

import uuid
from typing import Any

import anyio
import pytest

from pay.cli import SERVICES
from pay.platform.migrations import check

from support import provision


@pytest.mark.parametrize("package", SERVICES.values())
async def test_the_migrated_database_matches_the_metadata(pg: Any, package: str) -> None:
    database_url = await provision(pg, package, f"schema_{uuid.uuid4().hex[:8]}")

    await anyio.to_thread.run_sync(check, package, database_url)
