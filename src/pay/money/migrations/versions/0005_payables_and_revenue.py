"""Franchises' payables and the platform's revenue: their journal (`account_entries`), and the franchise a
commerce transaction names on its request, which may move no wallet.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("money_changing_requests", sa.Column("franchise_id", sa.String(64)))
    op.alter_column("money_changing_requests", "target_membership_id", nullable=True)
    op.create_table(
        "account_entries",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(10), primary_key=True),
        sa.Column("franchise_id", sa.String(64)),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount <> 0", name="account_entry_moves_money"),
        sa.CheckConstraint("(kind = 'PAYABLE') = (franchise_id IS NOT NULL)", name="account_entry_names_its_payable"),
    )
    op.create_index("ix_account_entries_franchise_id", "account_entries", ["franchise_id"])


def downgrade() -> None:
    op.drop_table("account_entries")
    op.execute("DELETE FROM money_changing_requests WHERE target_membership_id IS NULL")
    op.alter_column("money_changing_requests", "target_membership_id", nullable=False)
    op.drop_column("money_changing_requests", "franchise_id")
