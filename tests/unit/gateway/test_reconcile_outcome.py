"""The outcome the gateway exports for a reconcile it ran: only a check at rest can say that Conservation breaks."""

import pytest

from pay.gateway.adapters.reconcile import Outcome, outcome_of
from pay.reconcile import Reconciliation


def reconciliation(corporate_balance: int, requests_in_flight: int) -> Reconciliation:
    """A platform whose corporate account opened at 1,000 won and whose ledger holds 500 won in one wallet."""
    return Reconciliation(
        corporate_balance=corporate_balance,
        corporate_opening_balance=1_000,
        wallets_total=500,
        wallets_held=0,
        wallet_count=1,
        payables_total=0,
        revenue=0,
        requests_in_flight=requests_in_flight,
        bank_transfers=1,
        unpaired_transfers=[],
        journal_differences=[],
        failed_refunds=[],
    )


@pytest.mark.parametrize(
    ("corporate_balance", "requests_in_flight", "outcome"),
    [
        (1_500, 0, Outcome.HOLDS),
        (1_500, 2, Outcome.HOLDS),
        (2_000, 2, Outcome.IN_FLIGHT),
        (2_000, 0, Outcome.BREAKS),
    ],
)
def test_a_gap_breaks_conservation_only_at_rest(
    corporate_balance: int, requests_in_flight: int, outcome: Outcome
) -> None:
    assert outcome_of(reconciliation(corporate_balance, requests_in_flight)) is outcome
