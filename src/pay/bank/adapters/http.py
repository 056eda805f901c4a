"""The bank's HTTP API (`/bank/*`) and its fault injection."""

import asyncio
import random
import secrets
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pay.bank.application import use_cases
from pay.bank.application.ports import UnitOfWork
from pay.bank.domain.model import (
    Account,
    AccountExists,
    AccountKey,
    AccountNotFound,
    FintechUseNotFound,
    StatementLine,
    Transfer,
    TransferNotFound,
    TransferOutcome,
)
from pay.contracts.bank import (
    BankAccount,
    BankFaults,
    BankStatement,
    BankTransferRequest,
    BankTransferResult,
    FintechUse,
    OpenBankAccountRequest,
    TransferStatus,
)
from pay.contracts.bank import StatementLine as StatementLineModel
from pay.platform.paging import cut_page
from pay.platform.problems import ErrorMap, Problem, ProblemSpec, problem_response, refusals

ERRORS: ErrorMap = {
    AccountExists: ProblemSpec(409, "account-exists", "The account already exists"),
    AccountNotFound: ProblemSpec(404, "account-not-found", "No such account"),
    TransferNotFound: ProblemSpec(404, "transfer-not-found", "No such transfer"),
    FintechUseNotFound: ProblemSpec(404, "fintech-use-not-found", "No such fintech-use number"),
}

# Only the bank's business endpoints misbehave; its fault switch, health, metrics and docs never do.
FAULTY_PATHS = ("/bank/accounts", "/bank/transfers", "/bank/fintech-use")
FINTECH_USE_DIGITS = 24
_FAULTS: dict[int | str, dict[str, Any]] = {
    503: {"description": "A fault set through `PUT /bank/faults`: `bank-down` or `bank-unavailable`"}
}


def _account_model(account: Account) -> BankAccount:
    return BankAccount(
        bank_name=account.key.bank_name,
        bank_account_number=account.key.account_number,
        holder_name=account.holder_name,
        balance=account.balance,
        valid=account.valid,
    )


def _result_model(outcome: TransferOutcome) -> BankTransferResult:
    return BankTransferResult(
        transfer_id=outcome.transfer_id,
        status=TransferStatus(outcome.status.value),
        reason=outcome.reason.value if outcome.reason else None,
    )


def _line_model(line: StatementLine) -> StatementLineModel:
    return StatementLineModel(
        transfer_id=line.transfer_id,
        counterparty_bank_name=line.counterparty.bank_name,
        counterparty_bank_account_number=line.counterparty.account_number,
        amount=line.amount,
        at=line.at,
    )


def bank_router(new_uow: Callable[[], UnitOfWork]) -> APIRouter:
    router = APIRouter(prefix="/bank", tags=["bank"])

    @router.post(
        "/accounts",
        status_code=201,
        responses={**refusals(ERRORS, AccountExists), **_FAULTS},
    )
    async def open_account(request: OpenBankAccountRequest) -> BankAccount:
        """Open a test or demo account with a starting balance."""
        account = Account(
            AccountKey(request.bank_name, request.bank_account_number),
            request.holder_name,
            request.balance,
            request.valid,
        )
        return _account_model(await use_cases.open_account(new_uow(), account))

    @router.get(
        "/accounts/{bank_name}/{bank_account_number}",
        responses={**refusals(ERRORS, AccountNotFound), **_FAULTS},
    )
    async def get_account(bank_name: str, bank_account_number: str) -> BankAccount:
        return _account_model(await use_cases.get_account(new_uow(), AccountKey(bank_name, bank_account_number)))

    @router.post(
        "/accounts/{bank_name}/{bank_account_number}/fintech-use",
        responses={**refusals(ERRORS, AccountNotFound), **_FAULTS},
    )
    async def issue_fintech_use(bank_name: str, bank_account_number: str) -> FintechUse:
        """The account's fintech-use number, issued on the first request and the same on every later one: a
        platform that links the account names it by this number from then on (transfers from it, its balance)."""
        candidate = f"{secrets.randbelow(10**FINTECH_USE_DIGITS):0{FINTECH_USE_DIGITS}d}"
        key = AccountKey(bank_name, bank_account_number)
        return FintechUse(fintech_use_num=await use_cases.issue_fintech_use(new_uow(), key, candidate))

    @router.get(
        "/fintech-use/{fintech_use_num}",
        responses={**refusals(ERRORS, FintechUseNotFound), **_FAULTS},
    )
    async def get_account_by_fintech_use(fintech_use_num: str) -> BankAccount:
        """The account a fintech-use number names, with its balance."""
        return _account_model(await use_cases.account_of_fintech_use(new_uow(), fintech_use_num))

    @router.get(
        "/accounts/{bank_name}/{bank_account_number}/statement",
        responses={**refusals(ERRORS, AccountNotFound), **_FAULTS},
    )
    async def get_statement(
        bank_name: str,
        bank_account_number: str,
        cursor: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> BankStatement:
        """The transfers that moved money into or out of the account, by transfer id: what the platform pairs
        with its ledger (`pay reconcile`). Refused transfers moved nothing and are not on it."""
        key = AccountKey(bank_name, bank_account_number)
        lines, next_cursor = cut_page(
            await use_cases.statement(new_uow(), key, cursor, limit + 1), limit, lambda line: line.transfer_id
        )
        return BankStatement(items=[_line_model(line) for line in lines], next_cursor=next_cursor)

    @router.post("/transfers", responses={**refusals(ERRORS, FintechUseNotFound), **_FAULTS})
    async def transfer(request: BankTransferRequest) -> BankTransferResult:
        """Move money between two accounts of this bank, once per `transferId`.

        A refused transfer (insufficient funds, unknown or invalid account) is answered 200 with
        status FAILED and a reason. Repeating a `transferId` returns its first outcome and moves
        nothing, whatever the repeated body says. The source is named by its number or by its
        fintech-use number; a fintech-use number the bank never issued is refused (404) and moves nothing.
        """
        if request.from_fintech_use_num is not None:
            source = (await use_cases.account_of_fintech_use(new_uow(), request.from_fintech_use_num)).key
        else:
            assert request.from_bank_name is not None and request.from_bank_account_number is not None
            source = AccountKey(request.from_bank_name, request.from_bank_account_number)
        order = Transfer(
            request.transfer_id,
            source,
            AccountKey(request.to_bank_name, request.to_bank_account_number),
            request.amount,
        )
        return _result_model(await use_cases.execute_transfer(new_uow(), order))

    @router.get(
        "/transfers/{transfer_id}",
        responses={**refusals(ERRORS, TransferNotFound), **_FAULTS},
    )
    async def get_transfer(transfer_id: str) -> BankTransferResult:
        """The outcome of a transfer: how a caller whose request timed out learns whether it happened."""
        return _result_model(await use_cases.get_transfer(new_uow(), transfer_id))

    return router


class FaultSwitch:
    """The faults in force, kept in this process's memory (each bank process has its own)."""

    def __init__(self) -> None:
        self.faults = BankFaults()


def faults_router(switch: FaultSwitch) -> APIRouter:
    router = APIRouter(prefix="/bank/faults", tags=["fault injection"])

    @router.get("")
    async def get_faults() -> BankFaults:
        return switch.faults

    @router.put("")
    async def set_faults(faults: BankFaults) -> BankFaults:
        """Replace the faults in force; `{}` turns them all off. See `FaultInjectionMiddleware`."""
        switch.faults = faults
        return faults

    return router


class FaultInjectionMiddleware:
    """Makes `/bank/accounts*` and `/bank/transfers*` fail the way a real bank's API does.

    - `down`: every request is refused with 503 `bank-down` (and Retry-After); nothing is processed.
    - `errorRate`: that share of requests, drawn at random, is refused with 503 `bank-unavailable`
      before anything is processed, so a caller may safely retry it.
    - `latencyMs`: the request is processed first and its response is held back that long, so a
      caller that times out cannot tell whether a transfer happened and must ask
      `GET /bank/transfers/{transferId}` — the case the platform's bank adapter has to resolve.

    Each request sees the faults in force when it arrived.
    """

    def __init__(self, app: ASGIApp, switch: FaultSwitch) -> None:
        self.app = app
        self.switch = switch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_faulty(scope["path"]):
            await self.app(scope, receive, send)
            return
        faults = self.switch.faults
        if faults.down:
            await self._refuse(scope, receive, send, "bank-down", "The bank is down")
            return
        if random.random() < faults.error_rate:
            await self._refuse(scope, receive, send, "bank-unavailable", "The bank could not take the request")
            return
        if not faults.latency_ms:
            await self.app(scope, receive, send)
            return
        delay = faults.latency_ms / 1000

        async def send_late(message: Message) -> None:
            if message["type"] == "http.response.start":
                await asyncio.sleep(delay)
            await send(message)

        await self.app(scope, receive, send_late)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, code: str, title: str) -> None:
        problem = Problem(503, code, title, headers={"Retry-After": "1"})
        await problem_response(problem, scope["path"])(scope, receive, send)


def _is_faulty(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in FAULTY_PATHS)
