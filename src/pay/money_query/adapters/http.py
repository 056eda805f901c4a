"""Money-query's HTTP API (SPEC "Money query").

A region's money is for admins and services only: it sums other members' balances.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from pay.contracts import money_query as api
from pay.contracts.types import NO_CONTROL_CHARACTERS
from pay.money_query.adapters.messaging import export
from pay.money_query.application import use_cases
from pay.money_query.application.use_cases import Dependencies
from pay.money_query.domain.projection import MemberMoney
from pay.platform.auth import CurrentPrincipal, PrivilegedPrincipal
from pay.platform.problems import ErrorMap

ERRORS: ErrorMap = {}

router = APIRouter(prefix="/money/query", tags=["money-query"])


async def _deps(request: Request) -> Dependencies:
    deps: Dependencies = request.app.state.money_query
    return deps


Deps = Annotated[Dependencies, Depends(_deps)]
# As membership lets an address be, and as its `GET /membership/address/{address}` reads one.
Address = Annotated[str, Path(min_length=1, max_length=100, pattern=NO_CONTROL_CHARACTERS)]


@router.get("/get-money-sum-by-address/{address}")
async def money_sum_by_address(address: Address, _: PrivilegedPrincipal, deps: Deps) -> api.RegionMoney:
    """What the members living at the address can spend, from the read model; an address no one lives at
    holds 0 won and 0 members."""
    # Membership keeps addresses without surrounding spaces.
    region = await use_cases.region_money(deps, address.strip())
    status = await use_cases.status(deps)
    return api.RegionMoney(
        address=region.address,
        money_sum=region.money_sum,
        member_count=region.member_count,
        as_of=status.last_event_at,
    )


@router.get("/status")
async def query_status(_: CurrentPrincipal, deps: Deps) -> api.QueryStatus:
    """How far the read model has come."""
    status = await use_cases.status(deps)
    export(status)
    return api.QueryStatus(
        last_event_at=status.last_event_at, lag_seconds=status.lag_seconds, events_applied=status.events_applied
    )


@router.post("/rebuild")
async def rebuild(_: PrivilegedPrincipal, deps: Deps) -> api.QueryRebuild:
    """Fold every event the stream holds into a model of its own (kept in `rebuilt_members`) and compare it
    with the live one; the live model is not changed."""
    report = await use_cases.rebuild(deps)
    return api.QueryRebuild(
        events_replayed=report.events_replayed,
        members_rebuilt=report.members_rebuilt,
        differences=[
            api.ModelDifference(
                membership_id=difference.membership_id, live=_view(difference.live), rebuilt=_view(difference.rebuilt)
            )
            for difference in report.differences
        ],
    )


def _view(member: MemberMoney | None) -> api.MemberMoneyView | None:
    if member is None:
        return None
    return api.MemberMoneyView(address=member.address, balance=member.balance, wallet_version=member.wallet_version)
