"""Wallets, their journal, money changing requests and sagas.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from pay.platform import kernel_migrations

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    kernel_migrations.create_outbox_inbox_and_idempotency_keys()
    kernel_migrations.create_sagas()
    op.create_table(
        "wallets",
        sa.Column("membership_id", sa.String(64), primary_key=True),
        sa.Column("balance", sa.BigInteger, nullable=False),
        sa.Column("held", sa.BigInteger, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("holds", JSONB, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("held >= 0 AND held <= balance", name="wallet_never_negative"),
    )
    op.create_table(
        "wallet_events",
        sa.Column("membership_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "money_changing_requests",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("change_type", sa.String(20), nullable=False),
        sa.Column("target_membership_id", sa.String(64), nullable=False, index=True),
        sa.Column("counterpart_membership_id", sa.String(64)),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(500)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    # The journal is append-only: the database refuses to change or remove what was written.
    op.execute(
        "CREATE FUNCTION wallet_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'wallet_events is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER wallet_events_append_only BEFORE UPDATE OR DELETE ON wallet_events "
        "FOR EACH ROW EXECUTE FUNCTION wallet_events_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER wallet_events_append_only ON wallet_events")
    op.execute("DROP FUNCTION wallet_events_append_only()")
    op.drop_table("money_changing_requests")
    op.drop_table("wallet_events")
    op.drop_table("wallets")
    kernel_migrations.drop_sagas()
    kernel_migrations.drop_outbox_inbox_and_idempotency_keys()
