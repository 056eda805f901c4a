"""Fintech-use numbers: one per account, issued when a platform links the account.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fintech_uses",
        sa.Column("fintech_use_num", sa.String(24), primary_key=True),
        sa.Column("bank_name", sa.String(50), nullable=False),
        sa.Column("bank_account_number", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("bank_name", "bank_account_number", name="fintech_uses_account_key"),
    )


def downgrade() -> None:
    op.drop_table("fintech_uses")
