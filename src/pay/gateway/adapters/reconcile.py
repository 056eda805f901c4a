"""`GET /reconcile`: `pay reconcile` for the console's admin, over HTTP.

The gateway reaches every service, so it runs the same check as the CLI (`pay.reconcile`), with clients that
carry the caller's own token: the services decide what that token may read, as for any other call, and the
gateway grants nothing by itself. Only an admin (or a service) is let in at all, before any service is asked.

Every run's outcome is exported for Prometheus to alert on (a Kubernetes CronJob calls this hourly, ADR 35): per
outcome, the time of the latest run. Each replica keeps its own, and the newest across replicas and restarts is
a `max`, where a gauge of the last outcome would need the replicas' runs put in order.
"""

import time
from enum import StrEnum

from fastapi import APIRouter, Request
from prometheus_client import Gauge

from pay.contracts.clients import ServiceError, Unavailable
from pay.contracts.messages import CamelModel
from pay.platform.auth import PrivilegedPrincipal
from pay.platform.problems import ErrorMap, ProblemSpec
from pay.platform.settings import Settings
from pay.reconcile import Reconciliation, reconcile_platform


class Outcome(StrEnum):
    HOLDS = "holds"
    # Not at rest and not holding: money still moving may account for the gap, so nothing is concluded.
    IN_FLIGHT = "in-flight"
    BREAKS = "breaks"
    # A service did not answer or refused: nothing was checked.
    FAILED = "failed"


LAST_RUN = Gauge(
    "pay_reconcile_last_run_timestamp_seconds",
    "When this gateway last ran reconcile (GET /reconcile) with that outcome; 0 if it never did",
    ["outcome"],
)
# Exported from the start: "never" reads 0, not a missing series.
for _outcome in Outcome:
    LAST_RUN.labels(_outcome).set(0)


def outcome_of(found: Reconciliation) -> Outcome:
    if found.holds:
        return Outcome.HOLDS
    return Outcome.BREAKS if found.at_rest else Outcome.IN_FLIGHT


ERRORS: ErrorMap = {
    Unavailable: ProblemSpec(
        503, "downstream-unavailable", "A service reconciliation reads did not answer", {"Retry-After": "1"}
    ),
    ServiceError: ProblemSpec(502, "downstream-refused", "A service reconciliation reads refused the call"),
}


class UnpairedTransferView(CamelModel):
    transfer_id: str
    at_the_bank: int | None
    in_the_ledger: int | None
    request_id: str | None
    explanation: str


class FailedRefundView(CamelModel):
    money_changing_request_id: str
    membership_id: str
    amount: int
    reason: str


class ReconciliationView(CamelModel):
    holds: bool
    at_rest: bool
    requests_in_flight: int
    corporate_balance: int
    corporate_opening_balance: int
    corporate_net: int
    wallet_count: int
    wallets_total: int
    wallets_held: int
    payables_total: int
    revenue: int
    owed: int
    gap: int
    bank_transfers: int
    unpaired_transfers: list[UnpairedTransferView]
    wallets_differing_from_journal: list[str]
    failed_refunds: list[FailedRefundView]


def reconcile_router(settings: Settings) -> APIRouter:
    router = APIRouter()

    @router.get("/reconcile", response_model=ReconciliationView)
    async def run(request: Request, _: PrivilegedPrincipal) -> ReconciliationView:
        """Conservation across the platform, as `pay reconcile` checks it (admins and services)."""
        token = request.headers["authorization"].partition(" ")[2]
        try:
            found = await reconcile_platform(settings, token)
        except Exception:
            LAST_RUN.labels(Outcome.FAILED).set(time.time())
            raise
        LAST_RUN.labels(outcome_of(found)).set(time.time())
        return _view(found)

    return router


def _view(found: Reconciliation) -> ReconciliationView:
    return ReconciliationView(
        holds=found.holds,
        at_rest=found.at_rest,
        requests_in_flight=found.requests_in_flight,
        corporate_balance=found.corporate_balance,
        corporate_opening_balance=found.corporate_opening_balance,
        corporate_net=found.corporate_net,
        wallet_count=found.wallet_count,
        wallets_total=found.wallets_total,
        wallets_held=found.wallets_held,
        payables_total=found.payables_total,
        revenue=found.revenue,
        owed=found.owed,
        gap=found.gap,
        bank_transfers=found.bank_transfers,
        unpaired_transfers=[
            UnpairedTransferView(
                transfer_id=unpaired.transfer_id,
                at_the_bank=unpaired.at_the_bank,
                in_the_ledger=unpaired.in_the_ledger,
                request_id=unpaired.request_id,
                explanation=str(unpaired),
            )
            for unpaired in found.unpaired_transfers
        ],
        wallets_differing_from_journal=[difference.membership_id for difference in found.journal_differences],
        failed_refunds=[
            FailedRefundView(
                money_changing_request_id=refund.money_changing_request_id,
                membership_id=refund.membership_id,
                amount=refund.amount,
                reason=refund.reason,
            )
            for refund in found.failed_refunds
        ],
    )
