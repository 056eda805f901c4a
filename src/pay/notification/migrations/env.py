"""Alembic's entry point: the schema this service's migrations must produce is the metadata its code uses."""

from pay.notification.adapters.tables import metadata
from pay.platform.db import KERNEL_METADATA
from pay.platform.migrations import run_migrations

run_migrations(metadata, KERNEL_METADATA)
