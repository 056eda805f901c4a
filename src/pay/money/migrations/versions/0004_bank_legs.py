"""The bank side of requests: `bank_legs`, one row per firm banking transfer of the corporate account the
ledger accounts for, filled for the requests made before it from what their sagas and captures recorded.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Transfer ids as the sagas of this revision name them: `<request>-charge`, `-refund`, `-refund-<n>`,
# `-payout`, and a remittance's `<remittance>-payout` captured by `<remittance>-capture`. A recharge saga
# stored before refunds were retried does not say whether its charge moved unless it got past it.
BACKFILL = """
WITH recharges AS (
    SELECT data->>'requestId' AS request_id, (data->>'amount')::bigint AS amount, step,
           (data->>'refunds')::int AS refunds, data->>'refundRefused' AS refund_refused, updated_at
    FROM sagas WHERE kind = 'recharge'
)
INSERT INTO bank_legs (transfer_id, request_id, amount, recorded_at)
SELECT request_id || '-charge', request_id, amount, updated_at FROM recharges
WHERE step IN ('CREDITING', 'SUCCEEDED', 'REFUNDING') OR (step = 'FAILED' AND refunds > 0)
UNION ALL
SELECT request_id || '-refund' || CASE WHEN refunds = 1 THEN '' ELSE '-' || refunds END, request_id, -amount,
       updated_at
FROM recharges WHERE step = 'FAILED' AND refunds > 0 AND refund_refused IS NULL
UNION ALL
SELECT data->>'requestId' || '-payout', data->>'requestId', -(data->>'amount')::bigint, updated_at
FROM sagas WHERE kind = 'withdrawal' AND step = 'SUCCEEDED'
UNION ALL
SELECT left(request_id, -length('-capture')) || '-payout', request_id, -amount, updated_at
FROM money_changing_requests
WHERE change_type = 'CAPTURE' AND status = 'SUCCEEDED' AND request_id LIKE '%-capture'
"""


def upgrade() -> None:
    op.create_table(
        "bank_legs",
        sa.Column("transfer_id", sa.String(64), primary_key=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount <> 0", name="bank_leg_moves_money"),
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("bank_legs")
