"""Money aggregation's HTTP API (SPEC "Money aggregation"): for admins and services."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from pay.contracts import money_aggregation as api
from pay.money_aggregation.application import use_cases
from pay.money_aggregation.application.ports import DownstreamUnavailable
from pay.money_aggregation.application.use_cases import Dependencies
from pay.platform.auth import PrivilegedPrincipal
from pay.platform.problems import ErrorMap, ProblemSpec, refusals

ERRORS: ErrorMap = {
    DownstreamUnavailable: ProblemSpec(
        503,
        "downstream-unavailable",
        "Membership or money is not answering: no sum is given rather than a partial one",
        {"Retry-After": "2"},
    ),
}

router = APIRouter(prefix="/money/aggregation", tags=["money aggregation"])


async def _deps(request: Request) -> Dependencies:
    deps: Dependencies = request.app.state.money_aggregation
    return deps


Deps = Annotated[Dependencies, Depends(_deps)]


@router.post("/get-money-sum-by-address", responses=refusals(ERRORS, DownstreamUnavailable))
async def get_money_sum_by_address(
    body: api.MoneySumByAddressRequest, _: PrivilegedPrincipal, deps: Deps
) -> api.MoneySumByAddress:
    """What the region's members can spend now, summed from membership's list of the region and money's balances;
    a region nobody lives in sums to 0."""
    found = await use_cases.sum_money_by_address(deps, body.address)
    return api.MoneySumByAddress(address=found.address, money_sum=found.money_sum, member_count=found.member_count)
