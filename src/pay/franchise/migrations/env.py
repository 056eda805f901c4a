"""Alembic's entry point: the schema this service's migrations must produce is the metadata its code uses."""

from pay.franchise.adapters.tables import metadata
from pay.platform.db import KERNEL_METADATA
from pay.platform.migrations import run_migrations
from pay.platform.saga import SAGA_METADATA

run_migrations(metadata, KERNEL_METADATA, SAGA_METADATA)
