"""Linked bank accounts and firm banking requests.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
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
        "registered_bank_accounts",
        sa.Column("registered_bank_account_id", sa.String(64), primary_key=True),
        sa.Column("membership_id", sa.String(64), nullable=False, unique=True),
        sa.Column("bank_name", sa.String(50), nullable=False),
        sa.Column("bank_account_number", sa.String(40), nullable=False),
        sa.Column("linked_status_is_valid", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("bank_name", "bank_account_number", name="registered_bank_accounts_account_key"),
    )
    op.create_table(
        "firmbanking_requests",
        sa.Column("firmbanking_request_id", sa.String(64), primary_key=True),
        sa.Column("transfer_id", sa.String(64), nullable=False, unique=True),
        sa.Column("from_bank_name", sa.String(50), nullable=False),
        sa.Column("from_bank_account_number", sa.String(40), nullable=False, index=True),
        sa.Column("to_bank_name", sa.String(50), nullable=False),
        sa.Column("to_bank_account_number", sa.String(40), nullable=False, index=True),
        sa.Column("money_amount", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("external_transaction_id", sa.String(64)),
        sa.Column("correlation_id", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checks", sa.Integer, nullable=False),
        sa.CheckConstraint("money_amount > 0", name="firmbanking_requests_amount_positive"),
        sa.CheckConstraint("status IN ('REQUESTED', 'SUCCEEDED', 'FAILED')", name="firmbanking_requests_status_known"),
        sa.CheckConstraint("(status = 'FAILED') = (reason IS NOT NULL)", name="firmbanking_requests_failed_has_reason"),
    )
    op.create_index(
        "firmbanking_requests_due",
        "firmbanking_requests",
        ["next_check_at"],
        postgresql_where=sa.text("status = 'REQUESTED'"),
    )


def downgrade() -> None:
    op.drop_table("firmbanking_requests")
    op.drop_table("registered_bank_accounts")
    kernel_migrations.drop_outbox_inbox_and_idempotency_keys()
