"""Typed async clients of the public APIs, for services calling each other (httpx, explicit timeouts).

Failures arrive as exceptions a caller can decide on: `NotFound`, `Conflict`, `Rejected` (other
4xx, with the problem document), `Unavailable` (timeouts, connection errors, 5xx).
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

from pay.contracts.bank import (
    BankAccount,
    BankFaults,
    BankStatement,
    BankTransferRequest,
    BankTransferResult,
    FintechUse,
    OpenBankAccountRequest,
    StatementLine,
)
from pay.contracts.banking import (
    ConfirmedBankAccount,
    FirmbankingRequest,
    FirmbankingRequestBody,
    RegisteredBankAccount,
)
from pay.contracts.franchise import Franchise
from pay.contracts.membership import Member, MemberPage
from pay.contracts.money import (
    BankLeg,
    BankLegPage,
    FailedRefund,
    FailedRefundPage,
    MemberMoney,
    MemberMoneyBatchRequest,
    MoneyChangingRequest,
    MoneySummary,
    RebuildCheck,
)
from pay.contracts.money_query import QueryRebuild, QueryStatus, RegionMoney
from pay.contracts.payment import (
    FranchiseClaim,
    PaymentPage,
    PaymentSummary,
    SettlementClaim,
    SettlementClaimBody,
    SettlementLineBody,
)
from pay.contracts.remittance import RemittanceSummary
from pay.contracts.settlement import SettlementSummary

ModelT = TypeVar("ModelT", bound=BaseModel)
ItemT_co = TypeVar("ItemT_co", covariant=True)
ItemT = TypeVar("ItemT")


class Page(Protocol[ItemT_co]):
    """A page of a cursor-paged list."""

    @property
    def items(self) -> Sequence[ItemT_co]: ...

    @property
    def next_cursor(self) -> str | None: ...


class ServiceError(Exception):
    def __init__(self, status: int | None, problem: dict[str, Any] | None = None, detail: str = "") -> None:
        self.status = status
        self.problem = problem or {}
        self.code = str(self.problem.get("code", ""))
        super().__init__(detail or self.code or f"HTTP {status}")


class NotFound(ServiceError):
    pass


class Conflict(ServiceError):
    pass


class Rejected(ServiceError):
    pass


class Unavailable(ServiceError):
    """The other side did not answer usefully: the outcome of the call is unknown."""


def default_timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, 2.0))


class ServiceClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=default_timeout(timeout), transport=transport
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise Unavailable(None, detail=f"{method} {path}: {error!r}") from error
        if response.is_success:
            return response
        problem = _problem_of(response)
        kind: type[ServiceError]
        if response.status_code >= 500:
            kind = Unavailable
        elif response.status_code == 404:
            kind = NotFound
        elif response.status_code == 409:
            kind = Conflict
        else:
            kind = Rejected
        raise kind(response.status_code, problem)

    async def _get(self, path: str, model: type[ModelT]) -> ModelT:
        return model.model_validate_json((await self._request("GET", path)).content)

    async def _every_page(self, path: str, read: Callable[[bytes], Page[ItemT]], limit: int) -> list[ItemT]:
        """Every item of a cursor-paged list, fetched a page of `limit` at a time."""
        found: list[ItemT] = []
        cursor: str | None = None
        while True:
            query = f"limit={limit}" + (f"&cursor={_segment(cursor)}" if cursor is not None else "")
            page = read((await self._request("GET", f"{path}{'&' if '?' in path else '?'}{query}")).content)
            found += page.items
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    async def _post(self, path: str, body: BaseModel | dict[str, Any], model: type[ModelT]) -> ModelT:
        payload = body.model_dump(mode="json", by_alias=True) if isinstance(body, BaseModel) else body
        return model.model_validate_json((await self._request("POST", path, json=payload)).content)


def _problem_of(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _segment(value: str) -> str:
    return quote(value, safe="")


_MEMBER_MONEY = TypeAdapter(list[MemberMoney])


class MembershipClient(ServiceClient):
    async def get_member(self, membership_id: str) -> Member:
        return await self._get(f"/membership/{_segment(membership_id)}", Member)

    async def members_by_address(self, address: str, cursor: str | None = None, limit: int = 50) -> MemberPage:
        """One page of the region's members, by membership id."""
        # httpx would resolve an address of "." or ".." as a path step; escaped, membership reads it as a name.
        path = f"/membership/address/{_segment(address).replace('.', '%2E')}?limit={limit}"
        return await self._get(path + (f"&cursor={_segment(cursor)}" if cursor is not None else ""), MemberPage)


class BankClient(ServiceClient):
    async def open_account(self, request: OpenBankAccountRequest) -> BankAccount:
        return await self._post("/bank/accounts", request, BankAccount)

    async def get_account(self, bank_name: str, bank_account_number: str) -> BankAccount:
        return await self._get(f"/bank/accounts/{_segment(bank_name)}/{_segment(bank_account_number)}", BankAccount)

    async def issue_fintech_use(self, bank_name: str, bank_account_number: str) -> FintechUse:
        path = f"/bank/accounts/{_segment(bank_name)}/{_segment(bank_account_number)}/fintech-use"
        return await self._post(path, {}, FintechUse)

    async def account_by_fintech_use(self, fintech_use_num: str) -> BankAccount:
        return await self._get(f"/bank/fintech-use/{_segment(fintech_use_num)}", BankAccount)

    async def transfer(self, request: BankTransferRequest) -> BankTransferResult:
        return await self._post("/bank/transfers", request, BankTransferResult)

    async def get_transfer(self, transfer_id: str) -> BankTransferResult:
        return await self._get(f"/bank/transfers/{_segment(transfer_id)}", BankTransferResult)

    async def statement(self, bank_name: str, bank_account_number: str) -> list[StatementLine]:
        """Every line of the account's statement."""
        path = f"/bank/accounts/{_segment(bank_name)}/{_segment(bank_account_number)}/statement"
        return await self._every_page(path, BankStatement.model_validate_json, 1000)

    async def set_faults(self, faults: BankFaults) -> BankFaults:
        payload = faults.model_dump(mode="json", by_alias=True)
        return BankFaults.model_validate_json((await self._request("PUT", "/bank/faults", json=payload)).content)


class BankingClient(ServiceClient):
    async def linked_account(self, membership_id: str) -> RegisteredBankAccount:
        return await self._get(f"/banking/account/{_segment(membership_id)}", RegisteredBankAccount)

    async def bank_account(self, bank_name: str, bank_account_number: str) -> ConfirmedBankAccount:
        """The account as the bank confirmed it; `NotFound` if the bank knows no such account, `Rejected` if it
        may not be used."""
        path = f"/banking/bank-account/{_segment(bank_name)}/{_segment(bank_account_number)}"
        return await self._get(path, ConfirmedBankAccount)

    async def request_firmbanking(
        self, request: FirmbankingRequestBody, idempotency_key: str | None = None
    ) -> FirmbankingRequest:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        payload = request.model_dump(mode="json", by_alias=True)
        response = await self._request("POST", "/banking/firmbanking/request", json=payload, headers=headers)
        return FirmbankingRequest.model_validate_json(response.content)

    async def firmbanking(self, firmbanking_request_id: str) -> FirmbankingRequest:
        return await self._get(f"/banking/firmbanking/{_segment(firmbanking_request_id)}", FirmbankingRequest)


class MoneyClient(ServiceClient):
    async def summary(self) -> MoneySummary:
        return await self._get("/money/summary", MoneySummary)

    async def rebuild_check(self) -> RebuildCheck:
        return await self._get("/money/rebuild-check", RebuildCheck)

    async def failed_refunds(self) -> list[FailedRefund]:
        """Every page of them."""
        return await self._every_page("/money/failed-refunds", FailedRefundPage.model_validate_json, 500)

    async def bank_legs(self) -> list[BankLeg]:
        """Every firm banking transfer of the corporate account the ledger accounts for."""
        return await self._every_page("/money/bank-legs", BankLegPage.model_validate_json, 1000)

    async def wallet(self, membership_id: str) -> MemberMoney:
        return await self._get(f"/money/{_segment(membership_id)}", MemberMoney)

    async def member_money(self, membership_ids: Sequence[str]) -> list[MemberMoney]:
        """What each of the members can spend now; a member without a wallet is left out of the answer."""
        body = MemberMoneyBatchRequest(membership_ids=list(membership_ids))
        response = await self._request("POST", "/money/member-money", json=body.model_dump(mode="json", by_alias=True))
        return _MEMBER_MONEY.validate_json(response.content)

    async def changing_request(self, request_id: str) -> MoneyChangingRequest:
        return await self._get(f"/money/changing-requests/{_segment(request_id)}", MoneyChangingRequest)


class RemittanceClient(ServiceClient):
    async def summary(self) -> RemittanceSummary:
        return await self._get("/remittance/summary", RemittanceSummary)


class FranchiseClient(ServiceClient):
    async def get_franchise(self, franchise_id: str) -> Franchise:
        """The franchise with the fee rate in force now."""
        return await self._get(f"/franchise/{_segment(franchise_id)}", Franchise)


class PaymentClient(ServiceClient):
    async def summary(self) -> PaymentSummary:
        return await self._get("/payment/summary", PaymentSummary)

    async def claim_settlement(self, settlement_id: str, since: datetime, until: datetime) -> SettlementClaim:
        """Claim the settleable payments approved in [since, until), and the refunds their franchises owe, for the
        settlement (again: the same answer); the sums per franchise."""
        body = SettlementClaimBody(settlement_id=settlement_id, since=since, until=until)
        return await self._post("/payment/settlement/claim", body, SettlementClaim)

    async def finish_settlement(self, settlement_id: str, franchise_id: str) -> FranchiseClaim:
        body = SettlementLineBody(settlement_id=settlement_id, franchise_id=franchise_id)
        return await self._post("/payment/finish-settlement", body, FranchiseClaim)

    async def release_settlement(self, settlement_id: str, franchise_id: str) -> FranchiseClaim:
        body = SettlementLineBody(settlement_id=settlement_id, franchise_id=franchise_id)
        return await self._post("/payment/settlement/release", body, FranchiseClaim)

    async def settled_payments(self, settlement_id: str, cursor: str | None, limit: int = 500) -> PaymentPage:
        """One page of the payments the settlement holds or settled, by franchise."""
        query = f"limit={limit}" + (f"&cursor={_segment(cursor)}" if cursor is not None else "")
        return await self._get(f"/payment/settlement/{_segment(settlement_id)}/payments?{query}", PaymentPage)


class SettlementClient(ServiceClient):
    async def summary(self) -> SettlementSummary:
        return await self._get("/settlement/summary", SettlementSummary)


class MoneyQueryClient(ServiceClient):
    async def region_money(self, address: str) -> RegionMoney:
        return await self._get(f"/money/query/get-money-sum-by-address/{_segment(address)}", RegionMoney)

    async def status(self) -> QueryStatus:
        return await self._get("/money/query/status", QueryStatus)

    async def rebuild(self) -> QueryRebuild:
        return await self._post("/money/query/rebuild", {}, QueryRebuild)
