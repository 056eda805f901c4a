"""Firm banking requests as sagas: each request gets a row in the kernel's saga table, which schedules its
checks at the bank; the request's own `next_check_at` and `checks` move there.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from pay.platform import kernel_migrations

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    kernel_migrations.create_sagas()
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
    kernel_migrations.drop_sagas()
