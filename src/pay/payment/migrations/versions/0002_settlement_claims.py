"""Payment owns the settlement claim: a fee column the claim sums, the claim of each settlement per franchise, and
owed refunds claimed by a settlement.

Revision ID: 0002
Revises: 0001
Create Date: 2027-01-10
"""

import sqlalchemy as sa
from alembic import op

from pay.payment.domain.model import fee_for

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("fee", sa.BigInteger))
    # Filled by the domain's own rule, row by row: the rounding is written once, in Python.
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT payment_id, request_price, refunded_amount, fee_rate FROM payments"))
    fees = [
        {"payment_id": row.payment_id, "fee": fee_for(row.request_price - row.refunded_amount, row.fee_rate)}
        for row in rows
    ]
    if fees:
        connection.execute(sa.text("UPDATE payments SET fee = :fee WHERE payment_id = :payment_id"), fees)
    op.alter_column("payments", "fee", nullable=False)
    op.create_index("payments_settlement", "payments", ["settlement_id", "franchise_id", "seq"])
    op.add_column("refunds", sa.Column("claimed_by", sa.String(64)))
    op.create_index("ix_refunds_claimed_by", "refunds", ["claimed_by"])
    op.create_table(
        "settlement_claims",
        sa.Column("settlement_id", sa.String(64), primary_key=True),
        sa.Column("franchise_id", sa.String(64), primary_key=True),
        sa.Column("gross", sa.BigInteger, nullable=False),
        sa.Column("fee", sa.BigInteger, nullable=False),
        sa.Column("payment_count", sa.BigInteger, nullable=False),
        sa.Column("owed", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("settlement_claims")
    op.drop_index("ix_refunds_claimed_by", table_name="refunds")
    op.drop_column("refunds", "claimed_by")
    op.drop_index("payments_settlement", table_name="payments")
    op.drop_column("payments", "fee")
