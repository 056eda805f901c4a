"""Emails in one normal form: each member row notes the form its sealed email and blind index were written in.

Rows written before normalisation are form 0; membership re-seals and re-indexes them at start-up (it alone
holds the keys) and writes form 1. Only an address that was not in NFC gets a different index; the others
keep theirs, so no member is locked out in between. Every admin's refresh tokens are revoked (see below).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("members", sa.Column("email_form", sa.SmallInteger, nullable=False, server_default="0"))
    op.alter_column("members", "email_form", server_default=None)
    # Before this revision, start-up granted the admin role to whichever member held PAY_ADMIN_EMAIL, and that
    # member's refresh tokens then gave admin tokens. No one can tell such an admin apart, so every admin's
    # refresh tokens are revoked: the admin logs in once more.
    op.execute(
        """
        UPDATE refresh_tokens SET revoked_at = now()
        WHERE revoked_at IS NULL AND membership_id IN (SELECT membership_id FROM members WHERE role = 'admin')
        """
    )


def downgrade() -> None:
    op.drop_column("members", "email_form")
