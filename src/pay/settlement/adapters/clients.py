"""Payment and franchise as settlement reads them, through their contracts' clients: the one place to adjust
when those APIs change."""

from datetime import tzinfo

from pay.contracts.clients import FranchiseClient, NotFound, PaymentClient, Rejected, ServiceError, Unavailable
from pay.settlement.application.ports import DownstreamUnavailable, Franchise, ReportPage, ReportRow
from pay.settlement.domain.model import BankAccount, Claimed, FranchiseNotFound, Period


class HttpPayments:
    def __init__(self, client: PaymentClient, business_timezone: tzinfo) -> None:
        self._client = client
        self._timezone = business_timezone

    async def claim(self, settlement_id: str, period: Period) -> list[Claimed]:
        since, until = period.instants(self._timezone)
        try:
            claimed = await self._client.claim_settlement(settlement_id, since, until)
        except (ServiceError, ValueError) as error:
            raise DownstreamUnavailable(f"payment: {error}") from error
        return [
            Claimed(item.franchise_id, item.gross, item.fee, item.payment_count, item.owed)
            for item in claimed.franchises
        ]

    async def finish(self, settlement_id: str, franchise_id: str) -> None:
        try:
            await self._client.finish_settlement(settlement_id, franchise_id)
        except ServiceError as error:
            # A refusal too: the money has moved, so the line asks again until payment takes it.
            raise DownstreamUnavailable(f"payment: {error}") from error

    async def release(self, settlement_id: str, franchise_id: str) -> None:
        try:
            await self._client.release_settlement(settlement_id, franchise_id)
        except ServiceError as error:
            raise DownstreamUnavailable(f"payment: {error}") from error

    async def report_page(self, settlement_id: str, cursor: str | None) -> ReportPage:
        try:
            page = await self._client.settled_payments(settlement_id, cursor)
        except (ServiceError, ValueError) as error:
            raise DownstreamUnavailable(f"payment: {error}") from error
        return ReportPage(
            [
                ReportRow(
                    settlement_id,
                    item.franchise_id,
                    item.payment_id,
                    item.request_price,
                    item.refunded_amount,
                    item.fee,
                )
                for item in page.items
            ],
            page.next_cursor,
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
