"""Banking's HTTP API (SPEC "Banking").

Status codes: a member or bank account that does not exist → 404; one that exists but may not be
used (an invalid member, an account the bank marks invalid, the same account on both sides) → 422;
an account already linked, or a member that already linked one → 409; membership or the bank not
answering → 503 with Retry-After. A firm banking request answers 200 once settled, or 202 with its
status URL in `Location` while the bank's answer is still pending.
"""

import uuid
from collections.abc import Callable, Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from pay.banking.application import balance, use_cases
from pay.banking.application.ports import BankUnavailable, MembershipUnavailable
from pay.banking.application.use_cases import Dependencies
from pay.banking.domain import model
from pay.banking.domain.masking import mask_account_number
from pay.contracts.banking import (
    BankBalance,
    ConfirmedBankAccount,
    FirmbankingRequest,
    FirmbankingRequestBody,
    FirmbankingStatus,
    RegisterBankAccountRequest,
    RegisteredBankAccount,
)
from pay.contracts.types import BankAccountNumber, BankName
from pay.platform.auth import CurrentPrincipal, Principal, PrivilegedPrincipal, ensure_may_act_for
from pay.platform.idempotency.kept import KeptInTransaction
from pay.platform.idempotency.keys import StoredResponse, long_running_answer
from pay.platform.idempotency.middleware import ClaimedKey, answered, replayed
from pay.platform.problems import ErrorMap, Problem, ProblemSpec, refusals

_RETRY_LATER = {"Retry-After": "2"}

ERRORS: ErrorMap = {
    model.MemberNotFound: ProblemSpec(404, "member-not-found", "No such member"),
    model.MemberInvalid: ProblemSpec(422, "member-invalid", "The member is not valid"),
    model.BankAccountNotFound: ProblemSpec(404, "bank-account-not-found", "The bank knows no such account"),
    model.BankAccountInvalid: ProblemSpec(422, "bank-account-invalid", "The bank says this account cannot be used"),
    model.AccountHolderMismatch: ProblemSpec(
        422, "account-holder-mismatch", "The bank account is held by someone other than this member"
    ),
    model.SameAccount: ProblemSpec(422, "same-account", "The source and destination accounts are the same"),
    model.AccountAlreadyLinked: ProblemSpec(409, "account-already-linked", "This bank account is already linked"),
    model.MemberAlreadyLinked: ProblemSpec(409, "member-already-linked", "This member already linked a bank account"),
    model.LinkedAccountNotFound: ProblemSpec(404, "linked-account-not-found", "The member linked no bank account"),
    model.FirmbankingRequestNotFound: ProblemSpec(404, "firmbanking-request-not-found", "No such firm banking request"),
    model.TransferIdReused: ProblemSpec(409, "transfer-id-reused", "This transfer id names another transfer"),
    MembershipUnavailable: ProblemSpec(503, "membership-unavailable", "Membership is not answering", _RETRY_LATER),
    BankUnavailable: ProblemSpec(503, "bank-unavailable", "The bank is not answering", _RETRY_LATER),
}


async def _deps(request: Request) -> Dependencies:
    deps: Dependencies = request.app.state.banking
    return deps


Deps = Annotated[Dependencies, Depends(_deps)]


async def _balance_reading(request: Request) -> balance.BalanceReading:
    reading: balance.BalanceReading = request.app.state.bank_balances
    return reading


BalanceReading = Annotated[balance.BalanceReading, Depends(_balance_reading)]

# Which accounts the reader may see in full: the owner its own, admins and services every one.
ShownInFull = Callable[[model.AccountRef], bool]


def _everything(_: model.AccountRef) -> bool:
    return True


async def _shown_in_full(principal: Principal, deps: Dependencies) -> ShownInFull:
    if principal.is_privileged:
        return _everything
    own = await _own_account(principal, deps)
    return lambda account: account == own


async def _own_account(principal: Principal, deps: Dependencies) -> model.AccountRef | None:
    try:
        return (await use_cases.linked_account(deps, principal.subject)).account
    except model.LinkedAccountNotFound:
        return None


def _number(account: model.AccountRef, shown_in_full: ShownInFull) -> str:
    return account.bank_account_number if shown_in_full(account) else mask_account_number(account.bank_account_number)


_TRANSFER_IDS = uuid.UUID("6f1c8f8e-3c2a-4f59-9a51-0d7e0b6f4a10")

router = APIRouter(prefix="/banking", tags=["banking"])


def _registered_account(link: model.RegisteredBankAccount) -> RegisteredBankAccount:
    return RegisteredBankAccount(
        registered_bank_account_id=link.registered_bank_account_id,
        membership_id=link.membership_id,
        bank_name=link.account.bank_name,
        bank_account_number=link.account.bank_account_number,
        linked_status_is_valid=link.linked_status_is_valid,
        created_at=link.created_at,
    )


def _firmbanking(request: model.FirmbankingRequest, shown_in_full: ShownInFull = _everything) -> FirmbankingRequest:
    return FirmbankingRequest(
        firmbanking_request_id=request.firmbanking_request_id,
        transfer_id=request.transfer_id,
        from_bank_name=request.order.source.bank_name,
        from_bank_account_number=_number(request.order.source, shown_in_full),
        to_bank_name=request.order.destination.bank_name,
        to_bank_account_number=_number(request.order.destination, shown_in_full),
        money_amount=request.order.amount,
        status=FirmbankingStatus(request.status.value),
        reason=request.reason,
        external_transaction_id=request.external_transaction_id,
        created_at=request.created_at,
        updated_at=request.updated_at,
    )


async def _ensure_may_read(principal: Principal, request: model.FirmbankingRequest, deps: Dependencies) -> None:
    """A member reads the transfers of its own linked account; admins and services read any."""
    if principal.is_privileged:
        return
    own = await _own_account(principal, deps)
    if own is None or not request.touches(own):
        raise Problem(403, "forbidden", "A member may act only on its own resources")


@router.post(
    "/account/register",
    status_code=status.HTTP_201_CREATED,
    responses=refusals(
        ERRORS,
        model.MemberNotFound,
        model.BankAccountNotFound,
        model.AccountAlreadyLinked,
        model.MemberAlreadyLinked,
        model.MemberInvalid,
        model.BankAccountInvalid,
        model.AccountHolderMismatch,
        MembershipUnavailable,
        BankUnavailable,
    ),
)
async def register_account(
    body: RegisterBankAccountRequest, principal: CurrentPrincipal, deps: Deps
) -> RegisteredBankAccount:
    """Link a bank account to a member, once the member is valid and the bank confirmed the account.

    An account is linked to one member only, and a member links one account.
    """
    ensure_may_act_for(principal, body.membership_id)
    command = use_cases.LinkAccount(body.membership_id, model.AccountRef(body.bank_name, body.bank_account_number))
    return _registered_account(await use_cases.link_account(deps, command))


@router.get(
    "/account/{membership_id}",
    responses=refusals(ERRORS, model.LinkedAccountNotFound),
)
async def get_linked_account(membership_id: str, principal: CurrentPrincipal, deps: Deps) -> RegisteredBankAccount:
    ensure_may_act_for(principal, membership_id)
    return _registered_account(await use_cases.linked_account(deps, membership_id))


@router.get(
    "/account/{membership_id}/balance",
    responses=refusals(ERRORS, model.LinkedAccountNotFound, model.BankAccountNotFound, BankUnavailable),
)
async def get_bank_balance(
    membership_id: str,
    principal: CurrentPrincipal,
    reading: BalanceReading,
    refresh: Annotated[bool, Query(description="Wait (a bounded time) for the bank's answer")] = False,
) -> BankBalance:
    """The linked account's balance at the bank as last seen, at once from the cache; one older than
    `PAY_BANK_BALANCE_MAX_AGE_SECONDS` is answered with `fresh: false` and refreshed in the background.

    With `refresh=true` the bank is asked and waited for a bounded time; a bank that does not answer leaves
    the cached balance, with `fresh: false`. With nothing cached yet and no answer from the bank: 503.
    """
    ensure_may_act_for(principal, membership_id)
    answer = await balance.read_bank_balance(reading, membership_id, refresh)
    return BankBalance(balance=answer.seen.balance, as_of=answer.seen.as_of, fresh=answer.fresh)


@router.get(
    "/bank-account/{bank_name}/{bank_account_number}",
    responses=refusals(ERRORS, model.BankAccountNotFound, model.BankAccountInvalid, BankUnavailable),
)
async def confirm_bank_account(
    bank_name: BankName, bank_account_number: BankAccountNumber, _: PrivilegedPrincipal, deps: Deps
) -> ConfirmedBankAccount:
    """Confirm at the bank that an account exists and may be used, before money is sent to it (admins and
    services): 404 if the bank knows no such account, 422 if it says the account cannot be used.

    Nothing is stored: the answer is the bank's word at the time of asking.
    """
    standing = await use_cases.confirm_bank_account(deps, model.AccountRef(bank_name, bank_account_number))
    return ConfirmedBankAccount(
        bank_name=standing.account.bank_name,
        bank_account_number=standing.account.bank_account_number,
        holder_name=standing.holder_name,
        valid=standing.valid,
    )


@router.post(
    "/firmbanking/request",
    response_model=FirmbankingRequest,
    responses={
        202: {"model": FirmbankingRequest, "description": "Still REQUESTED: poll the URL in `Location`"},
        **refusals(
            ERRORS,
            model.BankAccountNotFound,
            model.TransferIdReused,
            model.BankAccountInvalid,
            model.SameAccount,
            BankUnavailable,
        ),
    },
)
async def request_firmbanking(
    body: FirmbankingRequestBody, _: PrivilegedPrincipal, deps: Deps, claim: ClaimedKey
) -> FirmbankingRequest | Response:
    """Move money between two bank accounts (admins and services).

    The request is stored before the bank is called and settled by the bank's answer: 200 with
    SUCCEEDED or FAILED, or 202 with REQUESTED if the bank did not answer in time — it is then
    settled by its saga as soon as the bank answers. Send an `Idempotency-Key` to retry safely: it is
    kept with the request, and a retry answers what the request has come to.
    """
    key = KeptInTransaction(claim, _started) if claim is not None else None
    # The key names the transfer at the bank too, so a retry after any failure can never move money twice.
    transfer_id = str(uuid.uuid5(_TRANSFER_IDS, f"{claim.scope}:{claim.key}")) if claim is not None else None
    outcome = await use_cases.request_firmbanking(
        deps,
        model.AccountRef(body.from_bank_name, body.from_bank_account_number),
        model.AccountRef(body.to_bank_name, body.to_bank_account_number),
        body.money_amount,
        transfer_id,
        key,
    )
    if isinstance(outcome, model.FirmbankingRequest):
        return answered(_stored(outcome))
    assert isinstance(outcome, StoredResponse)
    started = FirmbankingRequest.model_validate_json(outcome.body)
    return replayed(_stored(await use_cases.get_firmbanking(deps, started.firmbanking_request_id)))


def _started(request: object) -> StoredResponse:
    """The answer kept with the key in the transaction that stores the request: it has not been sent yet."""
    assert isinstance(request, model.FirmbankingRequest), request
    return _stored(request)


def _stored(request: model.FirmbankingRequest) -> StoredResponse:
    status_url = f"{router.prefix}/firmbanking/{request.firmbanking_request_id}"
    return long_running_answer(_firmbanking(request), request.is_settled, status_url)


@router.get(
    "/firmbanking",
    responses={422: {"description": "Neither or both of `membershipId` and `bankAccountNumber` were given"}},
)
async def list_firmbanking(
    principal: CurrentPrincipal,
    deps: Deps,
    membership_id: Annotated[str | None, Query(alias="membershipId")] = None,
    bank_account_number: Annotated[str | None, Query(alias="bankAccountNumber")] = None,
    bank_name: Annotated[str | None, Query(alias="bankName", description="Narrows `bankAccountNumber`")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Sequence[FirmbankingRequest]:
    """The transfers from or to the member's linked account (none if it linked none), or from or to an
    account number (admins and services), newest first. A member sees the other side's account number masked."""
    if membership_id is not None and bank_account_number is None:
        ensure_may_act_for(principal, membership_id)
        requests = await use_cases.firmbanking_of_member(deps, membership_id, limit)
    elif bank_account_number is not None and membership_id is None:
        if not principal.is_privileged:
            raise Problem(403, "forbidden", "Listing by account number needs the admin or service role")
        requests = await use_cases.firmbanking_of_account(deps, bank_account_number, bank_name, limit)
    else:
        raise Problem(
            422, "validation-error", "Invalid request", "Give exactly one of membershipId and bankAccountNumber"
        )
    shown_in_full = await _shown_in_full(principal, deps)
    return [_firmbanking(request, shown_in_full) for request in requests]


@router.get(
    "/firmbanking/{firmbanking_request_id}",
    responses=refusals(ERRORS, model.FirmbankingRequestNotFound),
)
async def get_firmbanking(firmbanking_request_id: str, principal: CurrentPrincipal, deps: Deps) -> FirmbankingRequest:
    request = await use_cases.get_firmbanking(deps, firmbanking_request_id)
    await _ensure_may_read(principal, request, deps)
    return _firmbanking(request, await _shown_in_full(principal, deps))
