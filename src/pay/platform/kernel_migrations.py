"""The kernel's tables, created and changed only by these versioned steps.

Every service's Alembic history calls the steps it needs, in order, from its own revisions: the
first revision of every service creates the outbox, the inbox and the idempotency keys, and a
service that runs sagas creates their table. A later change to a kernel table is a new step here,
called from a new revision of each service that has the table, so that each database records it
once. The definitions are written out rather than taken from the live metadata (`KERNEL_METADATA`,
`SAGA_METADATA`): a step must create the same schema whenever it runs, and a test compares every
service's migrated database with that metadata, so the two cannot drift.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB


def create_outbox_inbox_and_idempotency_keys() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("position", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
    )
    op.create_index("outbox_unpublished", "outbox", ["position"], postgresql_where=sa.text("published_at IS NULL"))
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("message_id", sa.String(100), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("response_status", sa.Integer),
        sa.Column("response_body", sa.LargeBinary),
        sa.Column("response_headers", JSONB),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def drop_outbox_inbox_and_idempotency_keys() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("inbox")
    op.drop_table("outbox")


def create_sagas() -> None:
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


def drop_sagas() -> None:
    op.drop_table("sagas")


def add_outbox_trace_context() -> None:
    """The trace under way when a message was written, for the relay to publish it on."""
    op.add_column("outbox", sa.Column("trace_context", JSONB))


def drop_outbox_trace_context() -> None:
    op.drop_column("outbox", "trace_context")


def add_saga_trace_context() -> None:
    """The trace under way when a saga started, for its timer-run steps to continue."""
    op.add_column("sagas", sa.Column("trace_context", JSONB))


def drop_saga_trace_context() -> None:
    op.drop_column("sagas", "trace_context")
