"""Money's own tables (SQLAlchemy Core); the kernel's outbox, inbox, idempotency keys and sagas live beside them."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

wallets = sa.Table(
    "wallets",
    metadata,
    sa.Column("membership_id", sa.String(64), primary_key=True),
    sa.Column("balance", sa.BigInteger, nullable=False),
    sa.Column("held", sa.BigInteger, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("holds", JSONB, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("held >= 0 AND held <= balance", name="wallet_never_negative"),
)

wallet_events = sa.Table(
    "wallet_events",
    metadata,
    sa.Column("membership_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
)

requests = sa.Table(
    "money_changing_requests",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("change_type", sa.String(20), nullable=False),
    # None for what moves no wallet: a payable credited from the bank, a bank refund, a settlement.
    sa.Column("target_membership_id", sa.String(64), index=True),
    sa.Column("counterpart_membership_id", sa.String(64)),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reason", sa.String(500)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # The correlation id of the saga that sent the request as a ledger command, answered when it ends.
    sa.Column("answer_to", sa.String(64)),
    # The franchise whose payable a commerce transaction moves.
    sa.Column("franchise_id", sa.String(64)),
)

# The journal of payables and revenue: an entry per account a ledger transaction moves (signed), the sum
# of an account's entries its balance (decision 22). Revenue's entries have no franchise.
account_entries = sa.Table(
    "account_entries",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(10), primary_key=True),
    sa.Column("franchise_id", sa.String(64), index=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("amount <> 0", name="account_entry_moves_money"),
    sa.CheckConstraint("(kind = 'PAYABLE') = (franchise_id IS NOT NULL)", name="account_entry_names_its_payable"),
)

# The bank side of requests: each firm banking transfer of the corporate account the ledger accounts for,
# signed (+ into the corporate account), written in the transaction that moved the request's money.
bank_legs = sa.Table(
    "bank_legs",
    metadata,
    sa.Column("transfer_id", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("amount <> 0", name="bank_leg_moves_money"),
)

# Members as membership's events told money: whether each may still move money, as of the event's time,
# so that an older event arriving later changes nothing. A row per member membership changed.
deactivated_members = sa.Table(
    "deactivated_members",
    metadata,
    sa.Column("membership_id", sa.String(64), primary_key=True),
    sa.Column("deactivated", sa.Boolean, nullable=False),
    sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
)
