"""Remittances and what each member sent per business day.

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
    kernel_migrations.create_sagas()
    op.create_table(
        "remittances",
        sa.Column("remittance_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
        sa.Column("from_membership_id", sa.String(64), nullable=False, index=True),
        sa.Column("to_membership_id", sa.String(64), index=True),
        sa.Column("to_bank_name", sa.String(50)),
        sa.Column("to_bank_account_number", sa.String(40)),
        sa.Column("remittance_type", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("recharged_amount", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500)),
        sa.Column("business_day", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name="remittances_amount_positive"),
    )
    op.create_table(
        "daily_totals",
        sa.Column("membership_id", sa.String(64), primary_key=True),
        sa.Column("business_day", sa.Date, primary_key=True),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.CheckConstraint("total >= 0", name="daily_totals_not_negative"),
    )


def downgrade() -> None:
    op.drop_table("daily_totals")
    op.drop_table("remittances")
    kernel_migrations.drop_sagas()
    kernel_migrations.drop_outbox_inbox_and_idempotency_keys()
