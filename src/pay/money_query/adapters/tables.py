"""Money-query's tables (besides the kernel's outbox, inbox and idempotency keys)."""

import sqlalchemy as sa


def _members(name: str, metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("membership_id", sa.String(64), primary_key=True),
        # None until the member's registration is heard.
        sa.Column("address", sa.String(100)),
        sa.Column("address_as_of", sa.DateTime(timezone=True)),
        sa.Column("balance", sa.BigInteger, nullable=False),
        sa.Column("wallet_version", sa.Integer, nullable=False),
    )


metadata = sa.MetaData()

# The live model, fed by the broker's events.
members = _members("members", metadata)
# A region's sum reads only this index.
sa.Index("members_by_address", members.c.address, postgresql_include=["balance"])

# The model `pay query rebuild` folded from the stream last, kept for the operator to look into.
rebuilt_members = _members("rebuilt_members", metadata)

# One row: how far the live model has come.
projection_status = sa.Table(
    "projection_status",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True),
    sa.Column("events_applied", sa.BigInteger, nullable=False),
    sa.Column("last_event_at", sa.DateTime(timezone=True)),
    sa.Column("last_applied_at", sa.DateTime(timezone=True)),
    sa.Column("lag_seconds", sa.Float, nullable=False),
    sa.CheckConstraint("id = 1", name="projection_status_one_row"),
)
