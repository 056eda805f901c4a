"""Alembic environment of the bank's database: the platform runs it the same way for every service."""

from pay.platform.migrations import run_migrations

run_migrations()
