"""Members' money and addresses as events told them, the last rebuilt copy, and how far the model has come.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from pay.platform import kernel_migrations

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _members(name: str) -> None:
    op.create_table(
        name,
        sa.Column("membership_id", sa.String(64), primary_key=True),
        sa.Column("address", sa.String(100)),
        sa.Column("address_as_of", sa.DateTime(timezone=True)),
        sa.Column("balance", sa.BigInteger, nullable=False),
        sa.Column("wallet_version", sa.Integer, nullable=False),
    )


def upgrade() -> None:
    kernel_migrations.create_outbox_inbox_and_idempotency_keys()
    _members("members")
    op.create_index("members_by_address", "members", ["address"], postgresql_include=["balance"])
    _members("rebuilt_members")
    op.create_table(
        "projection_status",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("events_applied", sa.BigInteger, nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True)),
        sa.Column("last_applied_at", sa.DateTime(timezone=True)),
        sa.Column("lag_seconds", sa.Float, nullable=False),
        sa.CheckConstraint("id = 1", name="projection_status_one_row"),
    )


def downgrade() -> None:
    op.drop_table("projection_status")
    op.drop_table("rebuilt_members")
    op.drop_index("members_by_address", "members")
    op.drop_table("members")
    kernel_migrations.drop_outbox_inbox_and_idempotency_keys()
