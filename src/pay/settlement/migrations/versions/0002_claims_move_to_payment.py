"""Payment owns the claims of payments and owed refunds (decision 25): settlement's copies go.

Revision ID: 0002
Revises: 0001
Create Date: 2027-01-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("claimed_refunds")
    op.drop_table("claimed_payments")


def downgrade() -> None:
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
