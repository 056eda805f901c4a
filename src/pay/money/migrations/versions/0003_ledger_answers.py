"""Who to answer when a request another service's saga sent as a ledger command ends.

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
    op.add_column("money_changing_requests", sa.Column("answer_to", sa.String(64)))


def downgrade() -> None:
    op.drop_column("money_changing_requests", "answer_to")
