"""Payment and franchise as settlement reads them, through their contracts' clients: the one place to adjust
when those APIs change."""

from collections.abc import Sequence
from datetime import datetime, time, timedelta, tzinfo

from pay.contracts.clients import FranchiseClient, NotFound, PaymentClient, Rejected, ServiceError, Unavailable
from pay.contracts.payment import FinishSettlementBody, Payment, PaymentStatus
from pay.settlement.application.ports import DownstreamUnavailable, Franchise
from pay.settlement.domain.model import BankAccount, FranchiseNotFound, OwedRefund, PaymentToSettle, Period


class HttpPayments:
    def __init__(self, client: PaymentClient, business_timezone: tzinfo) -> None:
        self._client = client
        self._timezone = business_timezone

    async def approved_in(self, period: Period) -> list[PaymentToSettle]:
        # The period's business days, as the instants its first begins and the day after its last begins.
        since = datetime.combine(period.first, time(), self._timezone)
        until = datetime.combine(period.last + timedelta(days=1), time(), self._timezone)
        try:
            listed = await self._client.unsettled(since, until)
        except (ServiceError, ValueError) as error:
            raise DownstreamUnavailable(f"payment: {error}") from error
        return [_payment(item) for item in listed if item.approved_at is not None]

    async def owed_refunds(self, franchise_id: str) -> list[OwedRefund]:
        try:
            listed = await self._client.owed_refunds(franchise_id)
        except (ServiceError, ValueError) as error:
            raise DownstreamUnavailable(f"payment: {error}") from error
        return [OwedRefund(item.refund_id, item.payment_id, item.amount) for item in listed]

    async def finish(self, settlement_id: str, payment_ids: Sequence[str], refund_ids: Sequence[str]) -> None:
        body = FinishSettlementBody(
            payment_ids=list(payment_ids), refund_ids=list(refund_ids), settlement_id=settlement_id
        )
        try:
            await self._client.finish_settlement(body)
        except ServiceError as error:
            # A refusal too: the money has moved, so the line asks again until payment takes it.
            raise DownstreamUnavailable(f"payment: {error}") from error


def _payment(item: Payment) -> PaymentToSettle:
    assert item.approved_at is not None
    return PaymentToSettle(
        payment_id=item.payment_id,
        franchise_id=item.franchise_id,
        price=item.request_price,
        refunded=item.refunded_amount,
        fee=item.fee,
        approved_at=item.approved_at,
        settleable=item.status is PaymentStatus.APPROVED and item.settlement_id is None,
    )


class HttpFranchises:
    def __init__(self, client: FranchiseClient) -> None:
        self._client = client

    async def get(self, franchise_id: str) -> Franchise:
        try:
            found = await self._client.get_franchise(franchise_id)
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
