"""Members' feeds with their numbering, franchises' owners, and stream tickets.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from pay.platform import kernel_migrations

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    kernel_migrations.create_outbox_inbox_and_idempotency_keys()
    op.create_table(
        "notifications",
        sa.Column("recipient_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("notifications_by_age", "notifications", ["recipient_id", "created_at"])
    op.create_table(
        "recipients",
        sa.Column("recipient_id", sa.String(64), primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "franchise_owners",
        sa.Column("franchise_id", sa.String(64), primary_key=True),
        sa.Column("owner_membership_id", sa.String(64), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "stream_tickets",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )
    op.create_index("stream_tickets_expires_at", "stream_tickets", ["expires_at"])


def downgrade() -> None:
    op.drop_index("stream_tickets_expires_at", "stream_tickets")
    op.drop_table("stream_tickets")
    op.drop_table("franchise_owners")
    op.drop_table("recipients")
    op.drop_index("notifications_by_age", "notifications")
    op.drop_table("notifications")
    kernel_migrations.drop_outbox_inbox_and_idempotency_keys()
