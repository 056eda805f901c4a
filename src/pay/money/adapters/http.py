"""Money's HTTP API (SPEC "Money")."""

from collections.abc import Sequence
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from pay.contracts import money as api
from pay.contracts.types import Instant
from pay.money.application import use_cases
from pay.money.application.ports import OptimisticConcurrencyConflict, PriorAnswer
from pay.money.application.use_cases import Dependencies
from pay.money.domain import members, requests, wallet
from pay.platform.auth import CurrentPrincipal, Principal, PrivilegedPrincipal, ensure_may_act_for
from pay.platform.idempotency.kept import KeptInTransaction
from pay.platform.idempotency.keys import StoredResponse, long_running_answer
from pay.platform.idempotency.middleware import ClaimedKey, answer_of, answered, replayed
from pay.platform.problems import ErrorMap, ProblemSpec, mapped_problem, problem_response, refusals

ERRORS: ErrorMap = {
    wallet.WalletNotFound: ProblemSpec(404, "wallet-not-found", "This member has no wallet"),
    wallet.WalletAlreadyExists: ProblemSpec(409, "wallet-exists", "This member already has a wallet"),
    wallet.InsufficientBalance: ProblemSpec(409, "insufficient-balance", "Not enough money in the wallet"),
    wallet.BalanceLimitExceeded: ProblemSpec(409, "balance-limit-exceeded", "The wallet cannot hold that much"),
    members.MemberDeactivated: ProblemSpec(403, "member-deactivated", "This member was deactivated: no money moves"),
    members.RecipientDeactivated: ProblemSpec(
        409, "recipient-deactivated", "Money cannot be sent to a deactivated member"
    ),
    requests.SameWallet: ProblemSpec(422, "same-wallet", "A transfer needs two different wallets"),
    requests.RequestNotFound: ProblemSpec(404, "request-not-found", "No such money changing request"),
    OptimisticConcurrencyConflict: ProblemSpec(
        503,
        "changed-meanwhile",
        "The wallets kept changing while this was written: nothing moved",
        {"Retry-After": "1"},
    ),
}


async def _deps(request: Request) -> Dependencies:
    deps: Dependencies = request.app.state.money
    return deps


Deps = Annotated[Dependencies, Depends(_deps)]

router = APIRouter(prefix="/money", tags=["money"])


def _money(found: wallet.Wallet) -> api.MemberMoney:
    return api.MemberMoney(membership_id=found.membership_id, balance=found.available, held_amount=found.held)


def _request(found: requests.MoneyChangingRequest) -> api.MoneyChangingRequest:
    return api.MoneyChangingRequest(
        money_changing_request_id=found.request_id,
        target_membership_id=found.target_membership_id,
        counterpart_membership_id=found.counterpart_membership_id,
        franchise_id=found.franchise_id,
        changing_type=api.ChangingType(found.change_type.value),
        amount=found.amount,
        status=api.ChangingStatus(found.status.value),
        reason=found.reason,
        created_at=found.created_at,
        updated_at=found.updated_at,
        status_url=f"/money/changing-requests/{found.request_id}",
    )


def _stored(found: requests.MoneyChangingRequest) -> StoredResponse:
    body = _request(found)
    return long_running_answer(body, found.is_final, body.status_url)


def _kept_answer(path: str, outcome: object) -> StoredResponse:
    """What a request with an Idempotency-Key answers for its outcome, kept with its effect for a retry to
    replay: an ended transfer (200), a started recharge or withdrawal (202), or a refusal."""
    if isinstance(outcome, requests.MoneyChangingRequest):
        return _stored(outcome)
    assert isinstance(outcome, Exception)
    problem = mapped_problem(outcome, ERRORS)
    assert problem is not None, outcome
    return answer_of(problem_response(problem, path))


def _acting_member(principal: Principal) -> str | None:
    """The member acting on its own wallet, whom money refuses once deactivated; None for an admin or a
    service, who act for anyone."""
    return None if principal.is_privileged else principal.subject


def _key(claim: ClaimedKey, path: str) -> KeptInTransaction | None:
    return KeptInTransaction(claim, partial(_kept_answer, path)) if claim is not None else None


async def _outcome(deps: Dependencies, started: requests.MoneyChangingRequest | PriorAnswer) -> Response:
    """The outcome of a started recharge or withdrawal once it has ended, or as it stands after the wait.

    A key used before started its request then, and answered 202 in its transaction; a retry answers
    what that request has come to since, after the same wait. A refusal kept with the key is replayed.
    """
    if isinstance(started, requests.MoneyChangingRequest):
        return answered(_stored(await use_cases.wait_for_request(deps, started, deps.answer_within_seconds)))
    assert isinstance(started, StoredResponse)
    if started.status != status.HTTP_202_ACCEPTED:
        return replayed(started)
    request_id = api.MoneyChangingRequest.model_validate_json(started.body).money_changing_request_id
    earlier = await use_cases.get_request(deps, request_id)
    return replayed(_stored(await use_cases.wait_for_request(deps, earlier, deps.answer_within_seconds)))


_LONG_RUNNING: dict[int | str, dict[str, Any]] = {
    202: {"description": "Still running: poll `statusUrl`", "model": api.MoneyChangingRequest}
}
_RECHARGE_REFUSALS = refusals(ERRORS, wallet.WalletNotFound, members.MemberDeactivated, OptimisticConcurrencyConflict)


@router.post(
    "/create-member-money",
    status_code=status.HTTP_201_CREATED,
    responses=refusals(ERRORS, wallet.WalletAlreadyExists),
)
async def create_member_money(
    body: api.CreateMemberMoneyRequest, principal: CurrentPrincipal, deps: Deps
) -> api.MemberMoney:
    ensure_may_act_for(principal, body.membership_id)
    return _money(await use_cases.open_wallet(deps, body.membership_id))


@router.post("/member-money")
async def member_money(
    body: api.MemberMoneyBatchRequest, _: PrivilegedPrincipal, deps: Deps
) -> Sequence[api.MemberMoney]:
    found = await use_cases.balances(deps, body.membership_ids)
    return [api.MemberMoney(membership_id=key, balance=value) for key, value in found.items()]


@router.post("/increase", response_model=api.MoneyChangingRequest, responses={**_LONG_RUNNING, **_RECHARGE_REFUSALS})
async def increase(
    body: api.ChangeMoneyRequest, principal: CurrentPrincipal, deps: Deps, claim: ClaimedKey, request: Request
) -> api.MoneyChangingRequest | Response:
    """Recharge from the member's linked bank account; answers the outcome, or 202 if it takes longer."""
    ensure_may_act_for(principal, body.target_membership_id)
    key = _key(claim, request.scope["path"])
    started = await use_cases.start_recharge(
        deps, body.target_membership_id, body.amount, key, _acting_member(principal)
    )
    return await _outcome(deps, started)


@router.post(
    "/increase-async",
    response_model=api.MoneyChangingRequest,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_RECHARGE_REFUSALS,
)
async def increase_async(
    body: api.ChangeMoneyRequest, principal: CurrentPrincipal, deps: Deps, claim: ClaimedKey, request: Request
) -> api.MoneyChangingRequest | Response:
    """Start a recharge and answer at once; poll `statusUrl` for the outcome."""
    ensure_may_act_for(principal, body.target_membership_id)
    key = _key(claim, request.scope["path"])
    started = await use_cases.start_recharge(
        deps, body.target_membership_id, body.amount, key, _acting_member(principal)
    )
    if isinstance(started, requests.MoneyChangingRequest):
        return answered(_stored(started))
    assert isinstance(started, StoredResponse)
    return replayed(started)


@router.post(
    "/decrease",
    response_model=api.MoneyChangingRequest,
    responses={
        **_LONG_RUNNING,
        **refusals(
            ERRORS,
            wallet.WalletNotFound,
            wallet.InsufficientBalance,
            members.MemberDeactivated,
            OptimisticConcurrencyConflict,
        ),
    },
)
async def decrease(
    body: api.ChangeMoneyRequest, principal: CurrentPrincipal, deps: Deps, claim: ClaimedKey, request: Request
) -> api.MoneyChangingRequest | Response:
    """Withdraw to the member's linked bank account; the amount is held until the bank paid it out."""
    ensure_may_act_for(principal, body.target_membership_id)
    key = _key(claim, request.scope["path"])
    started = await use_cases.start_withdrawal(
        deps, body.target_membership_id, body.amount, key, _acting_member(principal)
    )
    return await _outcome(deps, started)


@router.post(
    "/transfer",
    response_model=api.MoneyChangingRequest,
    responses=refusals(
        ERRORS,
        requests.SameWallet,
        wallet.WalletNotFound,
        wallet.InsufficientBalance,
        wallet.BalanceLimitExceeded,
        members.MemberDeactivated,
        members.RecipientDeactivated,
        OptimisticConcurrencyConflict,
    ),
)
async def transfer(
    body: api.TransferMoneyRequest, principal: CurrentPrincipal, deps: Deps, claim: ClaimedKey, request: Request
) -> api.MoneyChangingRequest | Response:
    ensure_may_act_for(principal, body.from_membership_id)
    key = _key(claim, request.scope["path"])
    outcome = await use_cases.transfer(
        deps, body.from_membership_id, body.to_membership_id, body.amount, key, _acting_member(principal)
    )
    if isinstance(outcome, requests.MoneyChangingRequest):
        # A keyed transfer sends the answer stored with it, rendered once.
        return answered(key.kept) if key is not None and key.kept is not None else _request(outcome)
    assert isinstance(outcome, StoredResponse)
    return replayed(outcome)


# Every money-moving route keeps its Idempotency-Key in the transaction of its effect (decision 4); the
# busiest also skips FastAPI's per-request work (decision 12).
DIRECT_ROUTES = [transfer]


@router.get("/changing-requests/{request_id}", responses=refusals(ERRORS, requests.RequestNotFound))
async def changing_request(request_id: str, principal: CurrentPrincipal, deps: Deps) -> api.MoneyChangingRequest:
    found = await use_cases.get_request(deps, request_id)
    if not principal.is_privileged and principal.subject not in (
        found.target_membership_id,
        found.counterpart_membership_id,
    ):
        raise requests.RequestNotFound(request_id)
    return _request(found)


# A wallet event's version, which the database holds as an int4: 0 to 2,147,483,647, written so that a
# larger number is refused here (422) and never reaches the database.
_HISTORY_CURSOR = (
    r"^(?:[0-9]{1,9}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}"
    r"|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7])$"
)


@router.get("/history/{membership_id}", responses=refusals(ERRORS, wallet.WalletNotFound))
async def history(
    membership_id: str,
    principal: CurrentPrincipal,
    deps: Deps,
    since: Annotated[Instant | None, Query(alias="from")] = None,
    until: Annotated[Instant | None, Query(alias="to")] = None,
    cursor: Annotated[str | None, Query(pattern=_HISTORY_CURSOR)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> api.HistoryPage:
    """The member's wallet changes, newest first; pass `nextCursor` back as `cursor` for the next page."""
    ensure_may_act_for(principal, membership_id)
    page = await use_cases.history(deps, membership_id, since, until, cursor, limit)
    return api.HistoryPage(
        membership_id=membership_id,
        items=[
            api.HistoryEntry(
                version=event.version,
                kind=event.kind.value,
                amount=event.available_change,
                money_changing_request_id=event.request_id,
                occurred_at=event.occurred_at,
            )
            for event in page.events
        ],
        next_cursor=page.next_cursor,
    )


@router.get("/summary")
async def summary(_: PrivilegedPrincipal, deps: Deps) -> api.MoneySummary:
    """Totals for reconciliation (`pay reconcile`)."""
    found = await use_cases.summary(deps)
    return api.MoneySummary(
        wallets=found.wallets,
        total_balance=found.total_balance,
        total_held=found.total_held,
        pending_requests=found.pending_requests,
        unfinished_sagas=found.unfinished_sagas,
        total_payables=found.total_payables,
        revenue=found.revenue,
    )


@router.get("/payables/{franchise_id}")
async def payable(franchise_id: str, _: PrivilegedPrincipal, deps: Deps) -> api.PayableBalance:
    """What the platform owes the franchise now (admins and services): its payments, less its refunds, fees
    and payouts. A franchise money never heard of owes and is owed nothing."""
    found = await use_cases.payable(deps, franchise_id)
    return api.PayableBalance(franchise_id=found.franchise_id, balance=found.balance)


@router.get("/bank-legs")
async def bank_legs(
    _: PrivilegedPrincipal,
    deps: Deps,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> api.BankLegPage:
    """The firm banking transfers into (amount > 0) and out of (amount < 0) the corporate account that the
    ledger accounts for, by transfer id, each with the request whose money it moved: what `pay reconcile`
    pairs with the corporate account's statement at the bank."""
    page = await use_cases.bank_legs(deps, cursor, limit)
    return api.BankLegPage(
        items=[
            api.BankLeg(transfer_id=leg.transfer_id, money_changing_request_id=leg.request_id, amount=leg.amount)
            for leg in page.legs
        ],
        next_cursor=page.next_cursor,
    )


@router.get("/failed-refunds")
async def failed_refunds(
    _: PrivilegedPrincipal,
    deps: Deps,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> api.FailedRefundPage:
    """Recharges whose refund the member's bank kept refusing: their money sits in the corporate account,
    owed to the member (`pay reconcile` names them)."""
    page = await use_cases.failed_refunds(deps, cursor, limit)
    return api.FailedRefundPage(
        items=[
            api.FailedRefund(
                money_changing_request_id=saga.request_id,
                membership_id=saga.membership_id,
                amount=saga.amount,
                reason=saga.failure or "",
            )
            for saga in page.recharges
        ],
        next_cursor=page.next_cursor,
    )


@router.get("/rebuild-check")
async def rebuild_check(_: PrivilegedPrincipal, deps: Deps) -> api.RebuildCheck:
    """Recompute every wallet from its journal and list where the stored balance differs, and check that every
    ledger transaction balances across wallets, payables, revenue and the bank (`pay money rebuild`)."""
    report = await use_cases.rebuild_check(deps)
    return api.RebuildCheck(
        wallets_checked=report.wallets_checked,
        differences=[
            api.WalletDifference(
                membership_id=difference.membership_id,
                stored_balance=difference.stored[0],
                stored_held=difference.stored[1],
                stored_version=difference.stored[2],
                rebuilt_balance=difference.rebuilt[0],
                rebuilt_held=difference.rebuilt[1],
                rebuilt_version=difference.rebuilt[2],
            )
            for difference in report.differences
        ],
        ledger_transactions_checked=report.journal.transactions,
        unbalanced_count=report.journal.unbalanced,
        unbalanced=[
            api.UnbalancedTransaction(ledger_transaction_id=transaction_id, off_by=off_by)
            for transaction_id, off_by in report.journal.off_by.items()
        ],
    )


@router.get("/{membership_id}", responses=refusals(ERRORS, wallet.WalletNotFound))
async def member_money_of(membership_id: str, principal: CurrentPrincipal, deps: Deps) -> api.MemberMoney:
    ensure_may_act_for(principal, membership_id)
    return _money(await use_cases.get_wallet(deps, membership_id))
