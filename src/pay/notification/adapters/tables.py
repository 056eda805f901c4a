"""Notification's tables (besides the kernel's outbox, inbox and idempotency keys)."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

# Each member's feed: entries numbered 1, 2, 3 … per recipient (the stream's event ids).
notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("recipient_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("kind", sa.String(50), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("data", JSONB, nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
# Forgetting a recipient's expired entries reads only those, however long its feed.
sa.Index("notifications_by_age", notifications.c.recipient_id, notifications.c.created_at)

# The last number given in each recipient's feed: its row lock orders the recipient's entries.
recipients = sa.Table(
    "recipients",
    metadata,
    sa.Column("recipient_id", sa.String(64), primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)

# Who owns each franchise, as franchise's events told: its settlement lines are told to the owner.
franchise_owners = sa.Table(
    "franchise_owners",
    metadata,
    sa.Column("franchise_id", sa.String(64), primary_key=True),
    sa.Column("owner_membership_id", sa.String(64), nullable=False),
    sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
)

# Stream tickets, by the SHA-256 digest of their token; `used_at` set on their one use.
stream_tickets = sa.Table(
    "stream_tickets",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("subject", sa.String(64), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True)),
    sa.Index("stream_tickets_expires_at", "expires_at"),
)
