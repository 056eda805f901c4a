"""The kernel's tables only: money aggregation keeps no data of its own (decision 30).

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from pay.platform import kernel_migrations

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    kernel_migrations.create_outbox_inbox_and_idempotency_keys()


def downgrade() -> None:
    kernel_migrations.drop_outbox_inbox_and_idempotency_keys()
