"""An account's statement: its transfers, read by source and by destination.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "transfers_from_account", "transfers", ["from_bank_name", "from_bank_account_number", "transfer_id"]
    )
    op.create_index("transfers_to_account", "transfers", ["to_bank_name", "to_bank_account_number", "transfer_id"])


def downgrade() -> None:
    for side in ("from", "to"):
        op.drop_index(f"transfers_{side}_account", "transfers")
