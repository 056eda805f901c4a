"""Settlement's tables (besides the kernel's outbox, inbox, idempotency keys and sagas)."""

import sqlalchemy as sa

metadata = sa.MetaData()

settlements = sa.Table(
    "settlements",
    metadata,
    sa.Column("settlement_id", sa.String(32), primary_key=True),
    # The order runs were recorded in: the cursor of a franchise's settlements.
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
    sa.Column("period_from", sa.Date, nullable=False),
    sa.Column("period_to", sa.Date, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("gathered", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("period_from <= period_to", name="settlements_period_ordered"),
)

settlement_lines = sa.Table(
    "settlement_lines",
    metadata,
    sa.Column("settlement_id", sa.String(32), sa.ForeignKey("settlements.settlement_id"), primary_key=True),
    sa.Column("franchise_id", sa.String(64), primary_key=True),
    sa.Column("gross", sa.BigInteger, nullable=False),
    sa.Column("fee", sa.BigInteger, nullable=False),
    sa.Column("owed", sa.BigInteger, nullable=False),
    sa.Column("payout", sa.BigInteger, nullable=False),
    sa.Column("carried", sa.BigInteger, nullable=False),
    sa.Column("payment_count", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(500)),
    sa.Index("settlement_lines_franchise", "franchise_id"),
    sa.CheckConstraint("payout >= 0 AND carried >= 0", name="settlement_lines_not_negative"),
)

# What a successful line carried (could not deduct), owed to the franchise's next line, which claims it.
carried_debts = sa.Table(
    "carried_debts",
    metadata,
    sa.Column("debt_id", sa.String(64), primary_key=True),
    sa.Column("franchise_id", sa.String(64), nullable=False, index=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("claimed_by", sa.String(64), index=True),
    sa.CheckConstraint("amount > 0", name="carried_debts_positive"),
)
