"""Payment's tables (besides the kernel's outbox, inbox, idempotency keys and sagas)."""

import sqlalchemy as sa

metadata = sa.MetaData()

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("payment_id", sa.String(64), primary_key=True),
    # The order payments were recorded in: the cursor of lists.
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
    sa.Column("request_membership_id", sa.String(64), nullable=False, index=True),
    sa.Column("franchise_id", sa.String(64), nullable=False),
    sa.Column("request_price", sa.BigInteger, nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("fee_rate", sa.Numeric(7, 4), nullable=False),
    # The domain's fee of the payment (`Payment.fee`), written with every change of the row, so that a settlement's
    # claim sums it in SQL and the rounding rule stays in one place.
    sa.Column("fee", sa.BigInteger, nullable=False),
    sa.Column("refunded_amount", sa.BigInteger, nullable=False),
    sa.Column("reserved_amount", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(500)),
    sa.Column("order_id", sa.String(100)),
    sa.Column("payer_bank_name", sa.String(50)),
    sa.Column("payer_bank_account_number", sa.String(40)),
    sa.Column("approved_at", sa.DateTime(timezone=True)),
    sa.Column("settled_at", sa.DateTime(timezone=True)),
    sa.Column("settlement_id", sa.String(64)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("request_price > 0", name="payments_price_positive"),
    sa.CheckConstraint("fee_rate >= 0", name="payments_fee_rate_not_negative"),
    # Refunds, given back and under way, never pass the price: the last guard behind the domain's rule.
    sa.CheckConstraint(
        "refunded_amount >= 0 AND reserved_amount >= 0 AND refunded_amount + reserved_amount <= request_price",
        name="payments_refunds_within_price",
    ),
    sa.Index("payments_franchise_approved", "franchise_id", "approved_at"),
    sa.Index("payments_approved", "approved_at"),
    sa.Index("payments_unsettled", "franchise_id", "seq", postgresql_where=sa.text("status = 'APPROVED'")),
    # A settlement's payments, franchise by franchise: finishing or releasing a line, and the run's report.
    sa.Index("payments_settlement", "settlement_id", "franchise_id", "seq"),
)

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("refund_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
    sa.Column("payment_id", sa.String(64), sa.ForeignKey("payments.payment_id"), nullable=False, index=True),
    sa.Column("franchise_id", sa.String(64), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(500)),
    sa.Column("after_settlement", sa.Boolean, nullable=False),
    sa.Column("deducted_by", sa.String(64)),
    # The settlement that claimed this owed refund: it deducts it when its line finishes.
    sa.Column("claimed_by", sa.String(64), index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("amount > 0", name="refunds_amount_positive"),
    sa.Index(
        "refunds_owed",
        "franchise_id",
        "seq",
        postgresql_where=sa.text("status = 'SUCCEEDED' AND after_settlement AND deducted_by IS NULL"),
    ),
)

# What each settlement claimed of each franchise, with the sums it was answered: asking again answers from here.
settlement_claims = sa.Table(
    "settlement_claims",
    metadata,
    sa.Column("settlement_id", sa.String(64), primary_key=True),
    sa.Column("franchise_id", sa.String(64), primary_key=True),
    sa.Column("gross", sa.BigInteger, nullable=False),
    sa.Column("fee", sa.BigInteger, nullable=False),
    sa.Column("payment_count", sa.BigInteger, nullable=False),
    sa.Column("owed", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
