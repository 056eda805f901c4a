"""Remittance's HTTP API (SPEC "Remittance").

`POST /remittance/request` answers 200 once the remittance has ended (SUCCEEDED or FAILED with a reason),
or 202 with its status URL in `Location` if it takes longer than the wait. A member sends from its own
wallet and reads only the remittances it sent or received; admins and services act for anyone.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from pay.contracts import remittance as api
from pay.platform.auth import CurrentPrincipal, PrivilegedPrincipal, ensure_may_act_for
from pay.platform.idempotency.kept import KeptInTransaction
from pay.platform.idempotency.keys import StoredResponse, long_running_answer
from pay.platform.idempotency.middleware import ClaimedKey, answered, replayed
from pay.platform.problems import ErrorMap, ProblemSpec, refusals
from pay.remittance.application import use_cases
from pay.remittance.application.ports import DownstreamUnavailable
from pay.remittance.application.use_cases import Dependencies, RemittanceOrder
from pay.remittance.domain import model

ERRORS: ErrorMap = {
    model.SenderNotFound: ProblemSpec(404, "sender-not-found", "The sender is no member or has no wallet"),
    model.SenderInvalid: ProblemSpec(422, "sender-invalid", "The sender is not a valid member"),
    model.ReceiverNotFound: ProblemSpec(404, "receiver-not-found", "No such receiving member"),
    model.ReceiverInvalid: ProblemSpec(422, "receiver-invalid", "The receiving member is not valid"),
    model.SendingToOneself: ProblemSpec(422, "sending-to-oneself", "A remittance needs another receiver"),
    model.BankAccountUnknown: ProblemSpec(
        422, "bank-account-unknown", "The bank knows no such account, or it cannot take money"
    ),
    model.DailyLimitExceeded: ProblemSpec(
        422, "daily-limit-exceeded", "This would pass the sender's limit for the business day"
    ),
    model.RemittanceNotFound: ProblemSpec(404, "remittance-not-found", "No such remittance"),
    DownstreamUnavailable: ProblemSpec(
        503,
        "downstream-unavailable",
        "A service the remittance needs is not answering: nothing was sent",
        {"Retry-After": "2"},
    ),
}

router = APIRouter(prefix="/remittance", tags=["remittance"])


async def _deps(request: Request) -> Dependencies:
    deps: Dependencies = request.app.state.remittance
    return deps


Deps = Annotated[Dependencies, Depends(_deps)]


def _remittance(found: model.Remittance) -> api.Remittance:
    target = found.to_bank
    return api.Remittance(
        remittance_request_id=found.remittance_id,
        from_membership_id=found.from_membership_id,
        to_membership_id=found.to_membership_id,
        to_bank_name=target.bank_name if target else None,
        to_bank_account_number=target.account_number if target else None,
        remittance_type=api.RemittanceType(found.remittance_type.value),
        amount=found.amount,
        recharged_amount=found.recharged_amount,
        status=api.RemittanceStatus(found.status.value),
        reason=found.reason,
        business_day=found.business_day,
        created_at=found.created_at,
        updated_at=found.updated_at,
        status_url=f"{router.prefix}/{found.remittance_id}",
    )


def _stored(found: model.Remittance) -> StoredResponse:
    body = _remittance(found)
    return long_running_answer(body, found.is_final, body.status_url)


def _started(outcome: object) -> StoredResponse:
    """The answer kept with the key in the transaction that records the remittance: it has not ended yet."""
    assert isinstance(outcome, model.Remittance), outcome
    return _stored(outcome)


@router.post(
    "/request",
    response_model=api.Remittance,
    responses={
        202: {"description": "Still running: poll `statusUrl`", "model": api.Remittance},
        **refusals(
            ERRORS,
            model.SenderNotFound,
            model.SenderInvalid,
            model.ReceiverNotFound,
            model.ReceiverInvalid,
            model.SendingToOneself,
            model.BankAccountUnknown,
            model.DailyLimitExceeded,
            DownstreamUnavailable,
        ),
    },
)
async def request_remittance(
    body: api.RemittanceRequestBody, principal: CurrentPrincipal, deps: Deps, claim: ClaimedKey
) -> api.Remittance | Response:
    """Send money to a member's wallet (MEMBERSHIP) or to any bank account (BANK). A shortfall in the
    sender's wallet is recharged first from its linked bank account, rounded up to the next 10,000 won.
    Send an `Idempotency-Key` to retry safely: a retry answers what the remittance has come to."""
    ensure_may_act_for(principal, body.from_membership_id)
    target = (
        model.BankTarget(body.to_bank_name, body.to_bank_account_number)
        if body.to_bank_name is not None and body.to_bank_account_number is not None
        else None
    )
    order = RemittanceOrder(
        body.from_membership_id,
        model.RemittanceType(body.remittance_type.value),
        body.amount,
        to_membership_id=body.to_membership_id,
        to_bank=target,
    )
    key = KeptInTransaction(claim, _started) if claim is not None else None
    outcome = await use_cases.request_remittance(deps, order, key)
    if isinstance(outcome, model.Remittance):
        return answered(_stored(await use_cases.wait_for(deps, outcome, deps.answer_within_seconds)))
    assert isinstance(outcome, StoredResponse)
    earlier = await use_cases.get_remittance(
        deps, api.Remittance.model_validate_json(outcome.body).remittance_request_id
    )
    return replayed(_stored(await use_cases.wait_for(deps, earlier, deps.answer_within_seconds)))


@router.get("/summary")
async def summary(_: PrivilegedPrincipal, deps: Deps) -> api.RemittanceSummary:
    """How many remittances are still moving money (admins and services)."""
    return api.RemittanceSummary(unfinished_sagas=await use_cases.unfinished_sagas(deps))


@router.get("/history/{membership_id}")
async def history(
    membership_id: str,
    principal: CurrentPrincipal,
    deps: Deps,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> api.RemittanceHistory:
    """The member's remittances, sent and received, newest first."""
    ensure_may_act_for(principal, membership_id)
    page = await use_cases.history(deps, membership_id, int(cursor) if cursor else None, limit)
    return api.RemittanceHistory(
        membership_id=membership_id,
        items=[_remittance(found) for found in page.remittances],
        next_cursor=str(page.next_cursor) if page.next_cursor is not None else None,
    )


@router.get("/{remittance_id}", responses=refusals(ERRORS, model.RemittanceNotFound))
async def get_remittance(
    remittance_id: Annotated[str, Path(max_length=64)], principal: CurrentPrincipal, deps: Deps
) -> api.Remittance:
    found = await use_cases.get_remittance(deps, remittance_id)
    if not principal.is_privileged and not found.involves(principal.subject):
        # Another member's remittance is not even said to exist.
        raise model.RemittanceNotFound(remittance_id)
    return _remittance(found)


@router.get(
    "/{remittance_id}/money-transferring",
    responses=refusals(ERRORS, model.RemittanceNotFound, DownstreamUnavailable),
)
async def money_transferring(
    remittance_id: Annotated[str, Path(max_length=64)], principal: CurrentPrincipal, deps: Deps, request: Request
) -> api.MoneyTransferring:
    """The remittance with the money changing requests and the firm banking it caused, read from money and
    banking now: a 503 if either cannot answer, never a part of it."""
    found = await get_remittance(remittance_id, principal, deps)
    ledger, payouts = await request.app.state.money_trail.of(await use_cases.saga_of(deps, remittance_id))
    return api.MoneyTransferring(remittance=found, money_changing_requests=ledger, firmbanking_requests=payouts)
