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
