"""Payment's HTTP API (SPEC "Payment").

`POST /payment/request` and `POST /payment/{paymentId}/cancel` answer 200 once the payment or refund has ended,
or 202 with its status URL in `Location` if it takes longer than the wait. A member pays for itself; the payer,
the franchise's owner and admins may read and cancel a payment (anyone else is answered 404); admins and services
act for anyone. Periods are instants (RFC 3339 with offset), `from` included and `to` excluded.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from pay.contracts import payment as api
from pay.contracts.types import URL_SEGMENT, Instant
from pay.payment.adapters.views import PATH_PREFIX, payment_view, refund_view
from pay.payment.application import use_cases
from pay.payment.application.ports import ClaimContended, DownstreamUnavailable
from pay.payment.application.use_cases import Dependencies, PaymentOrder
from pay.payment.domain import model
from pay.platform.auth import CurrentPrincipal, Principal, PrivilegedPrincipal, ensure_may_act_for
from pay.platform.idempotency.kept import KeptInTransaction
from pay.platform.idempotency.keys import StoredResponse, long_running_answer
from pay.platform.idempotency.middleware import ClaimedKey, answered, replayed
from pay.platform.problems import ErrorMap, Problem, ProblemSpec, refusals

ERRORS: ErrorMap = {
    model.PayerNotFound: ProblemSpec(404, "payer-not-found", "The payer is no member or has no wallet"),
    model.PayerInvalid: ProblemSpec(422, "payer-invalid", "The payer is not a valid member"),
    model.FranchiseNotFound: ProblemSpec(404, "franchise-not-found", "No such franchise"),
    model.FranchiseInvalid: ProblemSpec(422, "franchise-invalid", "The franchise may not take payments now"),
    model.NoLinkedAccount: ProblemSpec(
        422, "no-linked-account", "A BANK payment needs the payer's linked bank account, and it has none"
    ),
    model.PaymentNotFound: ProblemSpec(404, "payment-not-found", "No such payment"),
    model.RefundNotFound: ProblemSpec(404, "refund-not-found", "No such refund of this payment"),
    model.RefundExceedsPayment: ProblemSpec(
        409, "refund-exceeds-payment", "Refunds (with those under way) may not pass the payment's price"
    ),
    model.PaymentNotApproved: ProblemSpec(
        409, "payment-not-approved", "The payment is still being made: there is nothing to refund yet"
    ),
    model.PaymentFailed: ProblemSpec(409, "payment-failed", "The payment failed: no money moved to refund"),
    model.PaymentBeingSettled: ProblemSpec(
        409,
        "payment-being-settled",
        "The payment is being settled right now: try again shortly",
        {"Retry-After": "2"},
    ),
    model.SettlementLineNotFound: ProblemSpec(
        404, "settlement-line-not-found", "The settlement claimed nothing of that franchise"
    ),
    model.SettlementLineReleased: ProblemSpec(
        409, "settlement-line-released", "The settlement gave that franchise's payments back: it cannot settle them"
    ),
    model.SettlementLineSettled: ProblemSpec(
        409, "settlement-line-settled", "The settlement settled that franchise's payments: they cannot be given back"
    ),
    ClaimContended: ProblemSpec(
        503, "claim-contended", "Another claim was in the way: nothing was claimed, ask again", {"Retry-After": "1"}
    ),
    model.PeriodReversed: ProblemSpec(422, "period-reversed", "`from` comes after `to`"),
    DownstreamUnavailable: ProblemSpec(
        503,
        "downstream-unavailable",
        "A service the payment needs is not answering: nothing was recorded",
        {"Retry-After": "2"},
    ),
}

router = APIRouter(prefix=PATH_PREFIX, tags=["payment"])

PaymentId = Annotated[str, Path(max_length=64)]
Limit = Annotated[int, Query(ge=1, le=500)]
SeqCursor = Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")]
FranchiseFilter = Annotated[str | None, Query(alias="franchiseId", min_length=1, max_length=64, pattern=URL_SEGMENT)]


async def _deps(request: Request) -> Dependencies:
    deps: Dependencies = request.app.state.payment
    return deps


Deps = Annotated[Dependencies, Depends(_deps)]


def _stored_payment(found: model.Payment) -> StoredResponse:
    body = payment_view(found)
    return long_running_answer(body, found.is_final, body.status_url)


def _stored_refund(found: model.Refund) -> StoredResponse:
    body = refund_view(found)
    return long_running_answer(body, found.is_final, body.status_url)


def _payment_started(outcome: object) -> StoredResponse:
    """The answer kept with the key in the transaction that records the payment: it has not ended yet."""
    assert isinstance(outcome, model.Payment), outcome
    return _stored_payment(outcome)


def _refund_started(outcome: object) -> StoredResponse:
    assert isinstance(outcome, model.Refund), outcome
    return _stored_refund(outcome)


async def _readable(deps: Dependencies, principal: Principal, payment_id: str) -> model.Payment:
    """The payment, if the caller may see it: another member's payment is not even said to exist."""
    found = await use_cases.get_payment(deps, payment_id)
    if not principal.is_privileged and not await use_cases.may_see(deps, found, principal.subject):
        raise model.PaymentNotFound(payment_id)
    return found


async def _ensure_sees_franchise(deps: Dependencies, principal: Principal, franchise_id: str | None) -> None:
    """Admins and services see every franchise; a member only one it owns, named."""
    if principal.is_privileged:
        return
    if franchise_id is None or not await use_cases.owns_franchise(deps, principal.subject, franchise_id):
        raise Problem(403, "forbidden", "A member sees only the payments of a franchise it owns, named by franchiseId")


@router.post(
    "/request",
    response_model=api.Payment,
    responses={
        202: {"description": "Still running: poll `statusUrl`", "model": api.Payment},
        **refusals(
            ERRORS,
            model.PayerNotFound,
            model.PayerInvalid,
            model.FranchiseNotFound,
            model.FranchiseInvalid,
            model.NoLinkedAccount,
            DownstreamUnavailable,
        ),
    },
)
async def request_payment(
    body: api.PaymentRequestBody, principal: CurrentPrincipal, deps: Deps, claim: ClaimedKey
) -> api.Payment | Response:
    """Pay a franchise from the wallet (WALLET: a shortfall is recharged first from the linked bank account,
    rounded up to the next 10,000 won) or straight from the linked bank account (BANK). The fee rate is the
    franchise's when the payment is made. Send an `Idempotency-Key` to retry safely."""
    ensure_may_act_for(principal, body.request_membership_id)
    order = PaymentOrder(
        body.request_membership_id,
        body.franchise_id,
        body.request_price,
        model.PaymentMethod(body.method.value),
        body.order_id,
    )
    key = KeptInTransaction(claim, _payment_started) if claim is not None else None
    outcome = await use_cases.request_payment(deps, order, key)
    if isinstance(outcome, model.Payment):
        return answered(_stored_payment(await use_cases.wait_for_payment(deps, outcome, deps.answer_within_seconds)))
    assert isinstance(outcome, StoredResponse)
    earlier = await use_cases.get_payment(deps, api.Payment.model_validate_json(outcome.body).payment_id)
    return replayed(_stored_payment(await use_cases.wait_for_payment(deps, earlier, deps.answer_within_seconds)))


def _franchise_claim(claim: model.FranchiseClaim) -> api.FranchiseClaim:
    return api.FranchiseClaim(
        settlement_id=claim.settlement_id,
        franchise_id=claim.franchise_id,
        gross=claim.gross,
        fee=claim.fee,
        payment_count=claim.payment_count,
        owed=claim.owed,
        status=api.ClaimStatus(claim.status.value),
    )


@router.post("/settlement/claim", responses=refusals(ERRORS, model.PeriodReversed, ClaimContended))
async def claim_for_settlement(
    body: api.SettlementClaimBody, _: PrivilegedPrincipal, deps: Deps
) -> api.SettlementClaim:
    """Claim for the settlement, in one transaction, the payments approved at or after `since` and before `until`
    that are APPROVED, held by no settlement and have no refund under way (they become SETTLING: a cancel is then
    refused with `payment-being-settled`), and the refunds their franchises owe from payments settled earlier;
    answer the sums per franchise (admins and services). Asking again with the same settlement claims nothing
    more and answers the same."""
    claimed = await use_cases.claim_for_settlement(deps, body.settlement_id, body.since, body.until)
    return api.SettlementClaim(
        settlement_id=body.settlement_id, franchises=[_franchise_claim(claim) for claim in claimed]
    )


@router.post(
    "/finish-settlement",
    responses=refusals(ERRORS, model.SettlementLineNotFound, model.SettlementLineReleased),
)
async def finish_settlement(body: api.SettlementLineBody, _: PrivilegedPrincipal, deps: Deps) -> api.FranchiseClaim:
    """The settlement's line of the franchise has paid out: the payments it claimed become SETTLED and the refunds
    it claimed deducted, once (admins and services). Asking again answers the same."""
    return _franchise_claim(await use_cases.finish_settlement(deps, body.settlement_id, body.franchise_id))


@router.post(
    "/settlement/release",
    responses=refusals(ERRORS, model.SettlementLineNotFound, model.SettlementLineSettled),
)
async def release_settlement(body: api.SettlementLineBody, _: PrivilegedPrincipal, deps: Deps) -> api.FranchiseClaim:
    """The settlement's line of the franchise failed: the payments and refunds it claimed are as they were, for a
    later settlement, once (admins and services). Asking again answers the same."""
    return _franchise_claim(await use_cases.release_settlement(deps, body.settlement_id, body.franchise_id))


@router.get("/settlement/{settlement_id}/payments")
async def settled_by(
    settlement_id: Annotated[str, Path(max_length=64, pattern=URL_SEGMENT)],
    _: PrivilegedPrincipal,
    deps: Deps,
    cursor: Annotated[str | None, Query(max_length=90, pattern=r"^[^\x00-\x1f\x7f/]{1,64}\.[0-9]{1,18}$")] = None,
    limit: Limit = 50,
) -> api.PaymentPage:
    """The payments the settlement holds (SETTLING) or settled, franchise by franchise (admins and services): the
    rows of its report. A failed line's payments were given back and are not listed."""
    page = await use_cases.settled_by(deps, settlement_id, cursor, limit)
    return api.PaymentPage(items=[payment_view(found) for found in page.payments], next_cursor=page.next_cursor)


@router.get("/summary")
async def summary(_: PrivilegedPrincipal, deps: Deps) -> api.PaymentSummary:
    """How many payments and refunds are still moving money (admins and services)."""
    return api.PaymentSummary(unfinished_sagas=await use_cases.unfinished_sagas(deps))


@router.get("/period", responses=refusals(ERRORS, model.PeriodReversed, DownstreamUnavailable))
async def period(
    principal: CurrentPrincipal,
    deps: Deps,
    since: Annotated[Instant, Query(alias="from")],
    until: Annotated[Instant, Query(alias="to")],
    franchise_id: FranchiseFilter = None,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,17}-[0-9]{1,18}$")] = None,
    limit: Limit = 50,
) -> api.PaymentPage:
    """Payments approved at or after `from` and before `to` (instants), oldest approval first, whatever they
    became since (settled, cancelled). A member names a franchise it owns; admins and services may name none."""
    model.ensure_period(since, until)
    await _ensure_sees_franchise(deps, principal, franchise_id)
    page = await use_cases.approved_between(deps, since, until, franchise_id, cursor, limit)
    return api.PaymentPage(items=[payment_view(found) for found in page.payments], next_cursor=page.next_cursor)


@router.get("/normal-status", responses=refusals(ERRORS, model.PeriodReversed, DownstreamUnavailable))
async def normal_status(
    principal: CurrentPrincipal,
    deps: Deps,
    franchise_id: FranchiseFilter = None,
    since: Annotated[Instant | None, Query(alias="from")] = None,
    until: Annotated[Instant | None, Query(alias="to")] = None,
    cursor: SeqCursor = None,
    limit: Limit = 50,
) -> api.PaymentPage:
    """APPROVED payments not settled yet, in the order they were made; optionally only those approved at or after
    `from` and before `to`. A member names a franchise it owns; admins and services may name none."""
    if since is not None and until is not None:
        model.ensure_period(since, until)
    await _ensure_sees_franchise(deps, principal, franchise_id)
    page = await use_cases.unsettled(deps, franchise_id, since, until, cursor, limit)
    return api.PaymentPage(items=[payment_view(found) for found in page.payments], next_cursor=page.next_cursor)


@router.get("/owed-refunds")
async def owed_refunds(
    _: PrivilegedPrincipal,
    deps: Deps,
    franchise_id: FranchiseFilter = None,
    cursor: SeqCursor = None,
    limit: Limit = 50,
) -> api.RefundPage:
    """Succeeded refunds of payments a settlement had counted, that no settlement has deducted yet: what each
    franchise owes (admins and services)."""
    page = await use_cases.owed_refunds(deps, franchise_id, cursor, limit)
    return api.RefundPage(items=[refund_view(found) for found in page.refunds], next_cursor=page.next_cursor)


@router.get("/{payment_id}", responses=refusals(ERRORS, model.PaymentNotFound, DownstreamUnavailable))
async def get_payment(payment_id: PaymentId, principal: CurrentPrincipal, deps: Deps) -> api.Payment:
    return payment_view(await _readable(deps, principal, payment_id))


@router.get("/{payment_id}/refunds", responses=refusals(ERRORS, model.PaymentNotFound, DownstreamUnavailable))
async def refunds(
    payment_id: PaymentId, principal: CurrentPrincipal, deps: Deps, cursor: SeqCursor = None, limit: Limit = 50
) -> api.RefundPage:
    """The payment's refunds, oldest first."""
    await _readable(deps, principal, payment_id)
    page = await use_cases.refunds_of(deps, payment_id, cursor, limit)
    return api.RefundPage(items=[refund_view(found) for found in page.refunds], next_cursor=page.next_cursor)


@router.get(
    "/{payment_id}/refunds/{refund_id}",
    responses=refusals(ERRORS, model.PaymentNotFound, model.RefundNotFound, DownstreamUnavailable),
)
async def get_refund(
    payment_id: PaymentId,
    refund_id: Annotated[str, Path(max_length=64)],
    principal: CurrentPrincipal,
    deps: Deps,
) -> api.Refund:
    await _readable(deps, principal, payment_id)
    found = await use_cases.get_refund(deps, refund_id)
    if found.payment_id != payment_id:
        raise model.RefundNotFound(refund_id)
    return refund_view(found)


@router.post(
    "/{payment_id}/cancel",
    response_model=api.Refund,
    responses={
        202: {"description": "Still running: poll `statusUrl`", "model": api.Refund},
        **refusals(
            ERRORS,
            model.PaymentNotFound,
            model.RefundExceedsPayment,
            model.PaymentNotApproved,
            model.PaymentFailed,
            model.PaymentBeingSettled,
            DownstreamUnavailable,
        ),
    },
)
async def cancel_payment(
    payment_id: PaymentId,
    body: api.CancelPaymentBody,
    principal: CurrentPrincipal,
    deps: Deps,
    claim: ClaimedKey,
) -> api.Refund | Response:
    """Refund all that is left of the payment, or `amount` of it; several partial refunds are allowed until the
    price is refunded (a full refund makes the payment CANCELLED). The payer, the franchise's owner or an admin
    may ask. A refund after settlement goes through too: the franchise owes it. While a settlement is paying the
    franchise for the payment (SETTLING) it is refused, 409 `payment-being-settled`: ask again shortly. Send an
    `Idempotency-Key`."""
    await _readable(deps, principal, payment_id)
    key = KeptInTransaction(claim, _refund_started) if claim is not None else None
    outcome = await use_cases.cancel_payment(deps, payment_id, body.amount, key)
    if isinstance(outcome, model.Refund):
        return answered(_stored_refund(await use_cases.wait_for_refund(deps, outcome, deps.answer_within_seconds)))
    assert isinstance(outcome, StoredResponse)
    earlier = await use_cases.get_refund(deps, api.Refund.model_validate_json(outcome.body).refund_id)
    return replayed(_stored_refund(await use_cases.wait_for_refund(deps, earlier, deps.answer_within_seconds)))
