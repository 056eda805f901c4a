"""Remittance's tables (besides the kernel's outbox, inbox, idempotency keys and sagas)."""

import sqlalchemy as sa

metadata = sa.MetaData()

remittances = sa.Table(
    "remittances",
    metadata,
    sa.Column("remittance_id", sa.String(64), primary_key=True),
    # The order remittances were recorded in: the cursor of a member's history.
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
    sa.Column("from_membership_id", sa.String(64), nullable=False, index=True),
    sa.Column("to_membership_id", sa.String(64), index=True),
    sa.Column("to_bank_name", sa.String(50)),
    sa.Column("to_bank_account_number", sa.String(40)),
    sa.Column("remittance_type", sa.String(16), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("recharged_amount", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(500)),
    sa.Column("business_day", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("amount > 0", name="remittances_amount_positive"),
)

# What each member sent per business day, so that the limit is checked under one row lock.
daily_totals = sa.Table(
    "daily_totals",
    metadata,
    sa.Column("membership_id", sa.String(64), primary_key=True),
    sa.Column("business_day", sa.Date, primary_key=True),
    sa.Column("total", sa.BigInteger, nullable=False),
    sa.CheckConstraint("total >= 0", name="daily_totals_not_negative"),
)
