"""The outbox keeps the trace each message was written under, for the relay to publish it on (ADR 36).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from pay.platform import kernel_migrations

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    kernel_migrations.add_outbox_trace_context()


def downgrade() -> None:
    kernel_migrations.drop_outbox_trace_context()
