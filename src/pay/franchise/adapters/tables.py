"""Franchise's tables (besides the kernel's outbox, inbox and idempotency keys)."""

import sqlalchemy as sa

metadata = sa.MetaData()

franchises = sa.Table(
    "franchises",
    metadata,
    sa.Column("franchise_id", sa.String(64), primary_key=True),
    # The order franchises were registered in: the cursor of a list.
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
    sa.Column("owner_membership_id", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("contact", sa.String(100), nullable=False),
    sa.Column("bank_name", sa.String(50), nullable=False),
    sa.Column("bank_account_number", sa.String(40), nullable=False),
    sa.Column("webhook_url", sa.String(500)),
    sa.Column("is_valid", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Every rate a franchise has had and when it took effect, only ever added to: the one in force is the latest,
# and a payment made before a change keeps the rate it was made at.
fee_rates = sa.Table(
    "fee_rates",
    metadata,
    sa.Column("franchise_id", sa.String(64), sa.ForeignKey("franchises.franchise_id"), primary_key=True),
    sa.Column("effective_from", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("rate", sa.Numeric(4, 2), nullable=False),
    sa.CheckConstraint("rate >= 0 AND rate <= 20", name="fee_rates_within_bounds"),
)

# Each franchise's webhook signing secret, sealed (AES-256-GCM, bound to the franchise id): shown once when it is
# made, never answered again, read only to sign a delivery.
webhook_secrets = sa.Table(
    "webhook_secrets",
    metadata,
    sa.Column("franchise_id", sa.String(64), sa.ForeignKey("franchises.franchise_id"), primary_key=True),
    sa.Column("sealed_secret", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# One event for one franchise's webhook; its timing (next try, lease, deadline) is its saga's row.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("delivery_id", sa.String(64), primary_key=True),
    # The order deliveries were made in: the cursor of the delivery log.
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
    sa.Column("franchise_id", sa.String(64), sa.ForeignKey("franchises.franchise_id"), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("event_type", sa.String(50), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("franchise_id", "event_id", name="webhook_deliveries_one_per_event"),
    sa.Index("webhook_deliveries_log", "franchise_id", "seq"),
)

# Every try of a delivery, only ever added to.
webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("delivery_id", sa.String(64), sa.ForeignKey("webhook_deliveries.delivery_id"), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("error", sa.String(300)),
    sa.Column("duration_ms", sa.Integer, nullable=False),
)
