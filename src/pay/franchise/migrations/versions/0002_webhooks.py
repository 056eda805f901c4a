"""Merchant webhooks: each franchise's sealed signing secret, its deliveries and their tries, and the kernel's
saga table that times the tries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from pay.platform import kernel_migrations

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    kernel_migrations.create_sagas()
    op.create_table(
        "webhook_secrets",
        sa.Column("franchise_id", sa.String(64), sa.ForeignKey("franchises.franchise_id"), primary_key=True),
        sa.Column("sealed_secret", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
        sa.Column("franchise_id", sa.String(64), sa.ForeignKey("franchises.franchise_id"), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("franchise_id", "event_id", name="webhook_deliveries_one_per_event"),
    )
    op.create_index("webhook_deliveries_log", "webhook_deliveries", ["franchise_id", "seq"])
    op.create_table(
        "webhook_attempts",
        sa.Column("delivery_id", sa.String(64), sa.ForeignKey("webhook_deliveries.delivery_id"), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.String(300)),
        sa.Column("duration_ms", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_index("webhook_deliveries_log", "webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_secrets")
    kernel_migrations.drop_sagas()
