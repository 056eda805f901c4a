"""Franchise's HTTP API (SPEC "Franchise").

A corporate member registers, reads and changes its own franchises; admins and services act for anyone, and
alone change a fee rate or whether a franchise is valid. Another member's franchise is answered 404.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from pay.contracts import franchise as api
from pay.contracts.types import URL_SEGMENT
from pay.franchise.application import use_cases
from pay.franchise.application.ports import DownstreamUnavailable
from pay.franchise.application.use_cases import Dependencies, Modification, Registration
from pay.franchise.domain import model
from pay.platform.auth import CurrentPrincipal, Principal, ensure_may_act_for
from pay.platform.idempotency.kept import KeptInTransaction
from pay.platform.idempotency.keys import StoredResponse
from pay.platform.idempotency.middleware import ClaimedKey, answered, replayed
from pay.platform.problems import ErrorMap, Problem, ProblemSpec, refusals

ERRORS: ErrorMap = {
    model.FranchiseNotFound: ProblemSpec(404, "franchise-not-found", "No such franchise"),
    model.OwnerNotFound: ProblemSpec(404, "owner-not-found", "The owner is no member"),
    model.OwnerInvalid: ProblemSpec(422, "owner-invalid", "The owner is not a valid member"),
    model.NotACorporateMember: ProblemSpec(
        403, "not-a-corporate-member", "Only a corporate member may own a franchise"
    ),
    model.BankAccountUnknown: ProblemSpec(
        422, "bank-account-unknown", "The bank knows no such account, or it cannot take money"
    ),
    model.FeeRateAdminOnly: ProblemSpec(403, "fee-rate-admin-only", "Only an admin changes a fee rate"),
    model.ValidityAdminOnly: ProblemSpec(
        403, "validity-admin-only", "Only an admin makes a franchise valid or invalid"
    ),
    DownstreamUnavailable: ProblemSpec(
        503,
        "downstream-unavailable",
        "A service the franchise needs is not answering: nothing was recorded",
        {"Retry-After": "2"},
    ),
}

router = APIRouter(prefix="/franchise", tags=["franchise"])


async def _deps(request: Request) -> Dependencies:
    deps: Dependencies = request.app.state.franchise
    return deps


Deps = Annotated[Dependencies, Depends(_deps)]
FranchiseId = Annotated[str, Path(max_length=64)]


def _acting_member(principal: Principal) -> str | None:
    return None if principal.is_privileged else principal.subject


def _franchise(found: model.Franchise) -> api.Franchise:
    return api.Franchise(
        franchise_id=found.franchise_id,
        owner_membership_id=found.owner_membership_id,
        name=found.name,
        contact=found.contact,
        bank_name=found.settlement_account.bank_name,
        bank_account_number=found.settlement_account.account_number,
        fee_rate=found.fee_rate,
        webhook_url=found.webhook_url,
        is_valid=found.is_valid,
        created_at=found.created_at,
        updated_at=found.updated_at,
    )


def _created(outcome: object) -> StoredResponse:
    """The answer kept with the key in the transaction that records the franchise."""
    assert isinstance(outcome, model.Franchise), outcome
    body = _franchise(outcome).model_dump_json(by_alias=True).encode()
    headers = {"content-type": "application/json", "location": f"{router.prefix}/{outcome.franchise_id}"}
    return StoredResponse(status.HTTP_201_CREATED, body, headers)


@router.post(
    "/register",
    response_model=api.Franchise,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(
        ERRORS,
        model.OwnerNotFound,
        model.OwnerInvalid,
        model.NotACorporateMember,
        model.BankAccountUnknown,
        DownstreamUnavailable,
    ),
)
async def register(
    body: api.RegisterFranchiseRequest, principal: CurrentPrincipal, deps: Deps, claim: ClaimedKey
) -> Response:
    """Register a franchise of a corporate member (the member itself, or an admin), settled to a bank account the
    bank confirms. Send an `Idempotency-Key` to retry safely: a retry answers the franchise registered first."""
    ensure_may_act_for(principal, body.owner_membership_id)
    registration = Registration(
        body.owner_membership_id,
        body.name,
        body.contact,
        model.BankAccount(body.bank_name, body.bank_account_number),
        body.fee_rate,
        body.webhook_url,
    )
    key = KeptInTransaction(claim, _created) if claim is not None else None
    outcome = await use_cases.register_franchise(deps, registration, key)
    if isinstance(outcome, model.Franchise):
        return answered(key.kept if key is not None and key.kept is not None else _created(outcome))
    assert isinstance(outcome, StoredResponse)
    return replayed(outcome)


@router.get("")
async def franchises(
    principal: CurrentPrincipal,
    deps: Deps,
    owner_membership_id: Annotated[
        str | None,
        Query(
            alias="ownerMembershipId",
            min_length=1,
            max_length=64,
            pattern=URL_SEGMENT,
            description="Whose franchises; only admins and services may leave it out, for every franchise",
        ),
    ] = None,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> api.FranchisePage:
    """Franchises in the order they were registered."""
    if owner_membership_id is None:
        if not principal.is_privileged:
            raise Problem(403, "forbidden", "A member lists its own franchises: give ownerMembershipId")
    else:
        ensure_may_act_for(principal, owner_membership_id)
    page = await use_cases.franchises(deps, owner_membership_id, int(cursor) if cursor else None, limit)
    return api.FranchisePage(
        items=[_franchise(found) for found in page.franchises],
        next_cursor=str(page.next_cursor) if page.next_cursor is not None else None,
    )


@router.get("/{franchise_id}", responses=refusals(ERRORS, model.FranchiseNotFound))
async def get_franchise(franchise_id: FranchiseId, principal: CurrentPrincipal, deps: Deps) -> api.Franchise:
    """The franchise with the fee rate in force now."""
    return _franchise(await use_cases.get_franchise(deps, franchise_id, _acting_member(principal)))


@router.post(
    "/{franchise_id}",
    responses=refusals(
        ERRORS,
        model.FranchiseNotFound,
        model.FeeRateAdminOnly,
        model.ValidityAdminOnly,
        model.BankAccountUnknown,
        DownstreamUnavailable,
    ),
)
async def modify(
    franchise_id: FranchiseId, body: api.ModifyFranchiseRequest, principal: CurrentPrincipal, deps: Deps
) -> api.Franchise:
    """Change what is sent (the owner or an admin). A new fee rate (admins only) applies from now on: what was
    paid before keeps the rate it was paid at."""
    modification = Modification(
        name=body.name,
        contact=body.contact,
        bank_name=body.bank_name,
        bank_account_number=body.bank_account_number,
        fee_rate=body.fee_rate,
        webhook_url=body.webhook_url if "webhook_url" in body.model_fields_set else model.UNCHANGED,
        is_valid=body.is_valid,
    )
    changed = await use_cases.modify_franchise(deps, franchise_id, modification, _acting_member(principal))
    return _franchise(changed)
