"""Payment and franchise as settlement reads them, over their HTTP APIs.

Their contracts are not settlement's to write: each client parses only the fields settlement uses, with
models of its own that ignore the rest, so this module is the one place to adjust when those APIs change.
Assumed (camelCase JSON, service credential):

- `GET /payment/period?from=&to=&cursor=&limit=` → {items: [{paymentId, franchiseId, requestPrice,
  refundedAmount, fee, status, approvedAt, settlementId?}], nextCursor}; dates inclusive, business time zone.
- `GET /payment/owed-refunds?franchiseId=` → {items: [{refundId, paymentId, amount}]}.
- `POST /payment/finish-settlement` {paymentIds, refundIds, settlementId} → any 2xx; repeating it is harmless.
- `GET /franchise/{franchiseId}` → {franchiseId, ownerMembershipId, bankName?, bankAccountNumber?, …}; 404.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from pay.contracts.clients import NotFound, Rejected, ServiceClient, ServiceError, Unavailable
from pay.settlement.application.ports import DownstreamUnavailable, Franchise
from pay.settlement.domain.model import BankAccount, FranchiseNotFound, OwedRefund, PaymentToSettle, Period

# Payments are listed this many at a time.
PAGE = 500


class _Read(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class _Payment(_Read):
    payment_id: str
    franchise_id: str
    request_price: int = Field(ge=0)
    refunded_amount: int = Field(default=0, ge=0)
    fee: int = Field(ge=0)
    status: str
    approved_at: datetime | None = None
    settlement_id: str | None = None


class _PaymentPage(_Read):
    items: list[_Payment]
    next_cursor: str | None = None


class _Refund(_Read):
    refund_id: str
    payment_id: str
    amount: int = Field(ge=1)


class _RefundList(_Read):
    items: list[_Refund]


class _Franchise(_Read):
    franchise_id: str
    owner_membership_id: str
    bank_name: str | None = None
    bank_account_number: str | None = None


class PaymentClient(ServiceClient):
    async def period(self, period: Period, cursor: str | None) -> _PaymentPage:
        params: dict[str, Any] = {"from": period.first.isoformat(), "to": period.last.isoformat(), "limit": PAGE}
        if cursor is not None:
            params["cursor"] = cursor
        return _PaymentPage.model_validate_json((await self._request("GET", "/payment/period", params=params)).content)

    async def owed_refunds(self, franchise_id: str) -> _RefundList:
        response = await self._request("GET", "/payment/owed-refunds", params={"franchiseId": franchise_id})
        return _RefundList.model_validate_json(response.content)

    async def finish_settlement(
        self, settlement_id: str, payment_ids: Sequence[str], refund_ids: Sequence[str]
    ) -> None:
        body = {"paymentIds": list(payment_ids), "refundIds": list(refund_ids), "settlementId": settlement_id}
        await self._request("POST", "/payment/finish-settlement", json=body)


class FranchiseClient(ServiceClient):
    async def franchise(self, franchise_id: str) -> _Franchise:
        return await self._get(f"/franchise/{quote(franchise_id, safe='')}", _Franchise)


class HttpPayments:
    def __init__(self, client: PaymentClient) -> None:
        self._client = client

    async def approved_in(self, period: Period) -> list[PaymentToSettle]:
        found: list[PaymentToSettle] = []
        cursor: str | None = None
        try:
            while True:
                page = await self._client.period(period, cursor)
                found += [_payment(item) for item in page.items if item.approved_at is not None]
                if page.next_cursor is None:
                    return found
                cursor = page.next_cursor
        except (ServiceError, ValueError) as error:
            raise DownstreamUnavailable(f"payment: {error}") from error

    async def owed_refunds(self, franchise_id: str) -> list[OwedRefund]:
        try:
            listed = await self._client.owed_refunds(franchise_id)
        except (ServiceError, ValueError) as error:
            raise DownstreamUnavailable(f"payment: {error}") from error
        return [OwedRefund(item.refund_id, item.payment_id, item.amount) for item in listed.items]

    async def finish(self, settlement_id: str, payment_ids: Sequence[str], refund_ids: Sequence[str]) -> None:
        try:
            await self._client.finish_settlement(settlement_id, payment_ids, refund_ids)
        except ServiceError as error:
            # A refusal too: the money has moved, so the line asks again until payment takes it.
            raise DownstreamUnavailable(f"payment: {error}") from error


def _payment(item: _Payment) -> PaymentToSettle:
    assert item.approved_at is not None
    return PaymentToSettle(
        payment_id=item.payment_id,
        franchise_id=item.franchise_id,
        price=item.request_price,
        refunded=item.refunded_amount,
        fee=item.fee,
        approved_at=item.approved_at,
        settleable=item.status == "APPROVED" and item.settlement_id is None,
    )


class HttpFranchises:
    def __init__(self, client: FranchiseClient) -> None:
        self._client = client

    async def get(self, franchise_id: str) -> Franchise:
        try:
            found = await self._client.franchise(franchise_id)
        except NotFound as error:
            raise FranchiseNotFound(franchise_id) from error
        except (Unavailable, Rejected, ValueError) as error:
            raise DownstreamUnavailable(f"franchise: {error}") from error
        account = (
            BankAccount(found.bank_name, found.bank_account_number)
            if found.bank_name and found.bank_account_number
            else None
        )
        return Franchise(found.franchise_id, found.owner_membership_id, account)
