"""Fintech-use numbers: a link keeps the number the bank issued for its account, and a firm banking request
the number its source went to the bank under.

Links made before keep a NULL number: the bank cannot be asked from a migration, so each gets its number
at its first use (a transfer from it, a balance read) — see ADR 27.

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
    op.add_column("registered_bank_accounts", sa.Column("fintech_use_num", sa.String(24)))
    op.create_unique_constraint(
        "registered_bank_accounts_fintech_use_num_key", "registered_bank_accounts", ["fintech_use_num"]
    )
    op.add_column("firmbanking_requests", sa.Column("from_fintech_use_num", sa.String(24)))


def downgrade() -> None:
    op.drop_column("firmbanking_requests", "from_fintech_use_num")
    op.drop_constraint("registered_bank_accounts_fintech_use_num_key", "registered_bank_accounts")
    op.drop_column("registered_bank_accounts", "fintech_use_num")
