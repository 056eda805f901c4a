"""Firm banking requests as sagas: each request gets a row in the kernel's saga table, which schedules its
checks at the bank; the request's own `next_check_at` and `checks` move there.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def create_sagas_table() -> None:
    """The kernel's saga table, column for column as `pay.platform.saga.sagas` declares it."""
    op.create_table(
        "sagas",
        sa.Column("saga_id", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("step", sa.String(50), nullable=False),
        sa.Column("finished", sa.Boolean, nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("wake_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("sagas_due", "sagas", ["wake_at"], postgresql_where=sa.text("wake_at IS NOT NULL"))


def upgrade() -> None:
    create_sagas_table()
    # A pending request wakes when its next check was due; a settled one is a finished saga.
    op.execute(
        """
        INSERT INTO sagas (saga_id, kind, step, finished, data, wake_at, created_at, updated_at)
        SELECT firmbanking_request_id, 'firmbanking', status, status <> 'REQUESTED',
               jsonb_build_object('checks', checks),
               CASE WHEN status = 'REQUESTED' THEN next_check_at END,
               created_at, updated_at
        FROM firmbanking_requests
        """
    )
    op.drop_index("firmbanking_requests_due", table_name="firmbanking_requests")
    op.drop_column("firmbanking_requests", "next_check_at")
    op.drop_column("firmbanking_requests", "checks")


def downgrade() -> None:
    op.add_column("firmbanking_requests", sa.Column("next_check_at", sa.DateTime(timezone=True)))
    op.add_column("firmbanking_requests", sa.Column("checks", sa.Integer))
    # A settled request's next check was never read again: its last update stands in for it.
    op.execute(
        """
        UPDATE firmbanking_requests AS request
        SET next_check_at = coalesce(saga.wake_at, request.updated_at), checks = (saga.data ->> 'checks')::int
        FROM sagas AS saga
        WHERE saga.saga_id = request.firmbanking_request_id
        """
    )
    op.alter_column("firmbanking_requests", "next_check_at", nullable=False)
    op.alter_column("firmbanking_requests", "checks", nullable=False)
    op.create_index(
        "firmbanking_requests_due",
        "firmbanking_requests",
        ["next_check_at"],
        postgresql_where=sa.text("status = 'REQUESTED'"),
    )
    op.drop_table("sagas")
