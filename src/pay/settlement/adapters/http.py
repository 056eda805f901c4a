"""Settlement's HTTP API (SPEC "Settlement").

`POST /settlement/start` answers 202 at once with the run's status URL; the run gathers its payments and
settles each franchise in the background. Admins and services start runs and read them; a franchise's owner
may list the runs that settled its franchise.
"""

import csv
import io
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from pay.contracts import settlement as api
from pay.contracts.types import URL_SEGMENT
from pay.platform.auth import CurrentPrincipal, PrivilegedPrincipal, ensure_may_act_for
from pay.platform.idempotency.kept import KeptInTransaction
from pay.platform.idempotency.keys import StoredResponse, long_running_answer
from pay.platform.idempotency.middleware import ClaimedKey, answered, replayed
from pay.platform.problems import ErrorMap, ProblemSpec, refusals
from pay.settlement.adapters.messaging import line_view
from pay.settlement.application import use_cases
from pay.settlement.application.ports import DownstreamUnavailable, ReportRow
from pay.settlement.application.use_cases import Dependencies
from pay.settlement.domain import model

ERRORS: ErrorMap = {
    model.InvalidPeriod: ProblemSpec(
        422, "invalid-period", "`from` must not follow `to`, and a period is at most 31 days"
    ),
    model.SettlementNotFound: ProblemSpec(404, "settlement-not-found", "No such settlement"),
    model.FranchiseNotFound: ProblemSpec(404, "franchise-not-found", "No such franchise"),
    DownstreamUnavailable: ProblemSpec(
        503, "downstream-unavailable", "A service settlement needs is not answering", {"Retry-After": "2"}
    ),
}

router = APIRouter(prefix="/settlement", tags=["settlement"])


async def _deps(request: Request) -> Dependencies:
    deps: Dependencies = request.app.state.settlement
    return deps


Deps = Annotated[Dependencies, Depends(_deps)]
SettlementId = Annotated[str, Path(max_length=32, pattern=URL_SEGMENT)]


def _settlement(found: model.Settlement) -> api.Settlement:
    return api.Settlement(
        settlement_id=found.settlement_id,
        period_from=found.period.first,
        period_to=found.period.last,
        status=api.SettlementStatus(found.status.value),
        lines=[line_view(line) for line in found.lines],
        created_at=found.created_at,
        updated_at=found.updated_at,
        status_url=f"{router.prefix}/{found.settlement_id}",
    )


def _started(outcome: object) -> StoredResponse:
    """The answer kept with the key in the transaction that records the run: it is still running."""
    assert isinstance(outcome, model.Settlement), outcome
    body = _settlement(outcome)
    return long_running_answer(body, False, body.status_url)


@router.post(
    "/start",
    status_code=202,
    response_model=api.Settlement,
    responses=refusals(ERRORS, model.InvalidPeriod),
)
async def start(
    body: api.StartSettlementBody, _: PrivilegedPrincipal, deps: Deps, claim: ClaimedKey
) -> api.Settlement | Response:
    """Settle the payments approved in the period and not settled yet, franchise by franchise (admins and
    services). Answered at once with `statusUrl` to poll. Send an `Idempotency-Key` to retry safely."""
    period = model.Period(body.period_from, body.period_to)
    key = KeptInTransaction(claim, _started) if claim is not None else None
    outcome = await use_cases.start_settlement(deps, period, key)
    if isinstance(outcome, model.Settlement):
        return answered(_started(outcome))
    assert isinstance(outcome, StoredResponse)
    return replayed(outcome)


@router.get("", responses=refusals(ERRORS, model.FranchiseNotFound, DownstreamUnavailable))
async def of_franchise(
    principal: CurrentPrincipal,
    deps: Deps,
    franchise_id: Annotated[str, Query(alias="franchiseId", min_length=1, max_length=64, pattern=URL_SEGMENT)],
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> api.SettlementPage:
    """The runs that have a line for the franchise, newest first, with that line: admins, services and the
    franchise's owner."""
    if not principal.is_privileged:
        ensure_may_act_for(principal, (await use_cases.franchise(deps, franchise_id)).owner_membership_id)
    page = await use_cases.settlements_of(deps, franchise_id, int(cursor) if cursor else None, limit)
    return api.SettlementPage(
        franchise_id=franchise_id,
        items=[_settlement(found) for found in page.settlements],
        next_cursor=str(page.next_cursor) if page.next_cursor is not None else None,
    )


@router.get("/summary")
async def summary(_: PrivilegedPrincipal, deps: Deps) -> api.SettlementSummary:
    """How many runs are running and how many lines may still be moving money (admins and services)."""
    running, pending = await use_cases.under_way(deps)
    return api.SettlementSummary(running_settlements=running, pending_lines=pending)


@router.get("/{settlement_id}", responses=refusals(ERRORS, model.SettlementNotFound))
async def get_settlement(settlement_id: SettlementId, _: PrivilegedPrincipal, deps: Deps) -> api.Settlement:
    return _settlement(await use_cases.get_settlement(deps, settlement_id))


REPORT_COLUMNS = ("settlementId", "franchiseId", "paymentId", "price", "refunded", "fee")


@router.get(
    "/{settlement_id}/report.csv",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}}},
        **refusals(ERRORS, model.SettlementNotFound, DownstreamUnavailable),
    },
)
async def report(settlement_id: SettlementId, _: PrivilegedPrincipal, deps: Deps) -> StreamingResponse:
    """One row per payment the run settled (or is settling), by franchise; a failed line's payments are not the
    run's. Streamed page by page from payment, which holds the rows."""
    await use_cases.ensure_exists(deps, settlement_id)
    pages = use_cases.report(deps, settlement_id)
    # The first page before the answer starts: payment not answering is then a clean 503, not a cut-off file.
    first = await anext(pages)
    return StreamingResponse(
        _csv(first, pages),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="settlement-{settlement_id}.csv"'},
    )


async def _csv(first: list[ReportRow], rest: AsyncIterator[list[ReportRow]]) -> AsyncIterator[str]:
    yield ",".join(REPORT_COLUMNS) + "\n"
    yield _rows(first)
    async for rows in rest:
        yield _rows(rows)


def _rows(rows: list[ReportRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow((row.settlement_id, row.franchise_id, row.payment_id, row.price, row.refunded, row.fee))
    return out.getvalue()
