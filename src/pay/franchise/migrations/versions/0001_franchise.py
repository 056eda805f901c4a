"""Franchises and the history of their fee rates.

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


def upgrade() -> None:
    kernel_migrations.create_outbox_inbox_and_idempotency_keys()
    op.create_table(
        "franchises",
        sa.Column("franchise_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
        sa.Column("owner_membership_id", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("contact", sa.String(100), nullable=False),
        sa.Column("bank_name", sa.String(50), nullable=False),
        sa.Column("bank_account_number", sa.String(40), nullable=False),
        sa.Column("webhook_url", sa.String(500)),
        sa.Column("is_valid", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "fee_rates",
        sa.Column("franchise_id", sa.String(64), sa.ForeignKey("franchises.franchise_id"), primary_key=True),
        sa.Column("effective_from", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("rate", sa.Numeric(4, 2), nullable=False),
        sa.CheckConstraint("rate >= 0 AND rate <= 20", name="fee_rates_within_bounds"),
    )


def downgrade() -> None:
    op.drop_table("fee_rates")
    op.drop_table("franchises")
    kernel_migrations.drop_outbox_inbox_and_idempotency_keys()
