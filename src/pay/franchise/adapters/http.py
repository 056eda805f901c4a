"""Franchise's HTTP API (SPEC "Franchise").

A corporate member registers, reads and changes its own franchises; admins and services act for anyone, and
alone change a fee rate or whether a franchise is valid. Another member's franchise is answered 404.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from pay.contracts import franchise as api
from pay.contracts.types import URL_SEGMENT
from pay.franchise.application import use_cases, webhooks
from pay.franchise.application.ports import DownstreamUnavailable
from pay.franchise.application.use_cases import Dependencies, Modification, Registration
from pay.franchise.application.webhooks import WebhookDependencies
from pay.franchise.domain import model
from pay.franchise.domain.webhooks import Delivery, DeliveryNotFound, WebhookUrlRefused
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
    WebhookUrlRefused: ProblemSpec(
        422, "webhook-url-refused", "Webhooks are sent over https to public hosts only, without credentials"
    ),
    DeliveryNotFound: ProblemSpec(404, "webhook-delivery-not-found", "No such delivery of this franchise"),
    webhooks.NotTheOwner: ProblemSpec(
        403, "not-the-franchise-owner", "Only the franchise's owner or an admin reaches its webhooks"
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


async def _webhook_deps(request: Request) -> WebhookDependencies:
    deps: WebhookDependencies = request.app.state.webhooks
    return deps


WebhookDeps = Annotated[WebhookDependencies, Depends(_webhook_deps)]
DeliveryId = Annotated[str, Path(max_length=64)]
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
    """The answer kept with the key in the transaction that records the franchise: with its webhook secret, so
    that a retry of a registration whose answer was lost still learns it."""
    assert isinstance(outcome, use_cases.Registered), outcome
    shown = api.RegisteredFranchise(**_franchise(outcome.franchise).model_dump(), webhook_secret=outcome.webhook_secret)
    headers = {"content-type": "application/json", "location": f"{router.prefix}/{outcome.franchise.franchise_id}"}
    return StoredResponse(status.HTTP_201_CREATED, shown.model_dump_json(by_alias=True).encode(), headers)


@router.post(
    "/register",
    response_model=api.RegisteredFranchise,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(
        ERRORS,
        model.OwnerNotFound,
        model.OwnerInvalid,
        model.NotACorporateMember,
        model.BankAccountUnknown,
        WebhookUrlRefused,
        DownstreamUnavailable,
    ),
)
async def register(
    body: api.RegisterFranchiseRequest, principal: CurrentPrincipal, deps: Deps, claim: ClaimedKey
) -> Response:
    """Register a franchise of a corporate member (the member itself, or an admin), settled to a bank account the
    bank confirms. The answer carries the franchise's webhook signing secret, shown this once. Send an
    `Idempotency-Key` to retry safely: a retry answers the franchise registered first."""
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
    if isinstance(outcome, use_cases.Registered):
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
        WebhookUrlRefused,
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


def _delivery(found: Delivery) -> api.WebhookDelivery:
    return api.WebhookDelivery(
        delivery_id=found.delivery_id,
        event_id=found.event_id,
        event_type=found.event_type,
        status=api.WebhookDeliveryStatus(found.status.value),
        next_attempt_at=found.wake_at if not found.is_finished else None,
        created_at=found.created_at,
        updated_at=found.updated_at,
        attempts=[
            api.WebhookAttempt(
                attempt=attempt.number,
                at=attempt.at,
                status_code=attempt.status_code,
                error=attempt.error,
                duration_ms=attempt.duration_ms,
            )
            for attempt in found.attempts
        ],
    )


_WEBHOOK_REFUSALS = refusals(ERRORS, model.FranchiseNotFound, webhooks.NotTheOwner)


@router.get("/{franchise_id}/webhook-deliveries", responses=_WEBHOOK_REFUSALS)
async def webhook_deliveries(
    franchise_id: FranchiseId,
    principal: CurrentPrincipal,
    deps: WebhookDeps,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> api.WebhookDeliveryPage:
    """The franchise's webhook deliveries, newest first, each with every try (the owner or an admin)."""
    page = await webhooks.deliveries(
        deps, franchise_id, _acting_member(principal), int(cursor) if cursor else None, limit
    )
    return api.WebhookDeliveryPage(
        items=[_delivery(found) for found in page.deliveries],
        next_cursor=str(page.next_cursor) if page.next_cursor is not None else None,
    )


@router.post(
    "/{franchise_id}/webhook-deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    responses=refusals(ERRORS, model.FranchiseNotFound, webhooks.NotTheOwner, DeliveryNotFound),
)
async def redeliver(
    franchise_id: FranchiseId, delivery_id: DeliveryId, principal: CurrentPrincipal, deps: WebhookDeps
) -> api.WebhookDelivery:
    """Send the delivery again now, whatever became of it, and keep trying for a day; its tries are added to its
    log. The body is the same as before, signed afresh."""
    return _delivery(await webhooks.redeliver(deps, franchise_id, delivery_id, _acting_member(principal)))


@router.post("/{franchise_id}/webhook-secret", responses=_WEBHOOK_REFUSALS)
async def rotate_webhook_secret(
    franchise_id: FranchiseId, principal: CurrentPrincipal, deps: Deps
) -> api.WebhookSecret:
    """A new webhook signing secret in place of the old one, shown in this answer only; every delivery sent from
    now on is signed with it (the owner or an admin)."""
    return api.WebhookSecret(webhook_secret=await webhooks.rotate_secret(deps, franchise_id, _acting_member(principal)))
