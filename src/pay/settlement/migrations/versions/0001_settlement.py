"""Settlement runs, their lines, and the claims that settle each payment and owed refund at most once.

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
        "settlements",
        sa.Column("settlement_id", sa.String(32), primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
        sa.Column("period_from", sa.Date, nullable=False),
        sa.Column("period_to", sa.Date, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("gathered", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("period_from <= period_to", name="settlements_period_ordered"),
    )
    op.create_table(
        "settlement_lines",
        sa.Column("settlement_id", sa.String(32), sa.ForeignKey("settlements.settlement_id"), primary_key=True),
        sa.Column("franchise_id", sa.String(64), primary_key=True),
        sa.Column("gross", sa.BigInteger, nullable=False),
        sa.Column("fee", sa.BigInteger, nullable=False),
        sa.Column("owed", sa.BigInteger, nullable=False),
        sa.Column("payout", sa.BigInteger, nullable=False),
        sa.Column("carried", sa.BigInteger, nullable=False),
        sa.Column("payment_count", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500)),
        sa.CheckConstraint("payout >= 0 AND carried >= 0", name="settlement_lines_not_negative"),
    )
    op.create_index("settlement_lines_franchise", "settlement_lines", ["franchise_id"])
    op.create_table(
        "claimed_payments",
        sa.Column("payment_id", sa.String(64), primary_key=True),
        sa.Column("line_key", sa.String(64), nullable=False, index=True),
        sa.Column("settlement_id", sa.String(32), nullable=False, index=True),
        sa.Column("franchise_id", sa.String(64), nullable=False),
        sa.Column("price", sa.BigInteger, nullable=False),
        sa.Column("refunded", sa.BigInteger, nullable=False),
        sa.Column("fee", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "claimed_refunds",
        sa.Column("refund_id", sa.String(64), primary_key=True),
        sa.Column("line_key", sa.String(64), nullable=False, index=True),
        sa.Column("settlement_id", sa.String(32), nullable=False),
        sa.Column("franchise_id", sa.String(64), nullable=False),
        sa.Column("payment_id", sa.String(64), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "carried_debts",
        sa.Column("debt_id", sa.String(64), primary_key=True),
        sa.Column("franchise_id", sa.String(64), nullable=False, index=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("claimed_by", sa.String(64), index=True),
        sa.CheckConstraint("amount > 0", name="carried_debts_positive"),
    )


def downgrade() -> None:
    op.drop_table("carried_debts")
    op.drop_table("claimed_refunds")
    op.drop_table("claimed_payments")
    op.drop_index("settlement_lines_franchise", table_name="settlement_lines")
    op.drop_table("settlement_lines")
    op.drop_table("settlements")
    kernel_migrations.drop_sagas()
    kernel_migrations.drop_outbox_inbox_and_idempotency_keys()
