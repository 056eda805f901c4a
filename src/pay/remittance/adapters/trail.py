"""What a remittance caused, fetched from money and banking (API aggregation): all of it, or a 503."""

import asyncio

from pay.contracts.banking import FirmbankingRequest
from pay.contracts.clients import BankingClient, MoneyClient, NotFound, ServiceError
from pay.contracts.money import MoneyChangingRequest
from pay.remittance.application.ports import DownstreamUnavailable
from pay.remittance.domain.saga import RemittanceSaga


class MoneyTrail:
    def __init__(self, money: MoneyClient, banking: BankingClient) -> None:
        self._money = money
        self._banking = banking

    async def of(self, saga: RemittanceSaga) -> tuple[list[MoneyChangingRequest], list[FirmbankingRequest]]:
        """The ledger transactions money recorded for the saga, in its order, and banking's payout record."""
        try:
            async with asyncio.TaskGroup() as group:
                ledger = [group.create_task(self._ledger(txn)) for txn in saga.ledger_transactions()]
                payout = group.create_task(self._payout(saga.firmbanking_request_id))
        except* ServiceError as errors:
            raise DownstreamUnavailable(
                f"what the remittance caused cannot be read now: {errors.exceptions[0]}"
            ) from None
        found = [task.result() for task in ledger]
        paid = payout.result()
        return [request for request in found if request is not None], [paid] if paid is not None else []

    async def _ledger(self, transaction_id: str) -> MoneyChangingRequest | None:
        try:
            return await self._money.changing_request(transaction_id)
        except NotFound:
            return None  # a step the saga never reached: nothing to show, and nothing missing

    async def _payout(self, firmbanking_request_id: str | None) -> FirmbankingRequest | None:
        if firmbanking_request_id is None:
            return None
        return await self._banking.firmbanking(firmbanking_request_id)
