"""Accounts, transfers and the kernel's tables.

Revision ID: 0001
Revises:
Create Date: 2025-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pay.platform import kernel_migrations

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("bank_name", sa.String(50), primary_key=True),
        sa.Column("bank_account_number", sa.String(40), primary_key=True),
        sa.Column("holder_name", sa.String(100), nullable=False),
        sa.Column("balance", sa.BigInteger, nullable=False),
        sa.Column("valid", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("balance >= 0", name="accounts_balance_not_negative"),
    )
    op.create_table(
        "transfers",
        sa.Column("transfer_id", sa.String(64), primary_key=True),
        sa.Column("from_bank_name", sa.String(50), nullable=False),
        sa.Column("from_bank_account_number", sa.String(40), nullable=False),
        sa.Column("to_bank_name", sa.String(50), nullable=False),
        sa.Column("to_bank_account_number", sa.String(40), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16)),
        sa.Column("reason", sa.String(50)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name="transfers_amount_positive"),
        sa.CheckConstraint("status IN ('SUCCEEDED', 'FAILED')", name="transfers_status_known"),
    )
    kernel_migrations.create_outbox_inbox_and_idempotency_keys()


def downgrade() -> None:
    kernel_migrations.drop_outbox_inbox_and_idempotency_keys()
    op.drop_table("transfers")
    op.drop_table("accounts")
