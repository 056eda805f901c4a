"""Settlement on the broker: sends its lines' commands to banking and money, and hears their answers."""

from pay.contracts.banking import FirmbankingFailed, FirmbankingSucceeded, RequestFirmbanking
from pay.contracts.messages import Message
from pay.contracts.money import LedgerTransactionFailed, LedgerTransactionSucceeded, SettlePayable
from pay.platform.broker import Broker
from pay.settlement.application import use_cases
from pay.settlement.application.use_cases import Dependencies
from pay.settlement.domain.saga import PayoutRequested, SagaEvent


def to_message(event: SagaEvent) -> Message:
    if isinstance(event, PayoutRequested):
        return RequestFirmbanking(
            correlation_id=event.saga_id,
            transfer_id=event.transfer_id,
            from_bank_name=event.source.bank_name,
            from_bank_account_number=event.source.account_number,
            to_bank_name=event.target.bank_name,
            to_bank_account_number=event.target.account_number,
            money_amount=event.amount,
        )
    return SettlePayable(
        correlation_id=event.saga_id,
        ledger_transaction_id=event.transaction_id,
        franchise_id=event.franchise_id,
        fee=event.fee,
        payout=event.payout,
        bank_transfer_id=event.bank_transfer_id,
    )


def subscribe(broker: Broker, deps: Dependencies) -> None:
    """Every answer reaches every saga service; one no line waits for changes nothing."""

    async def on_applied(answer: LedgerTransactionSucceeded) -> None:
        if answer.correlation_id:
            await use_cases.ledger_answered(
                deps, answer.message_id, answer.correlation_id, answer.ledger_transaction_id, None
            )

    async def on_refused(answer: LedgerTransactionFailed) -> None:
        if answer.correlation_id:
            await use_cases.ledger_answered(
                deps, answer.message_id, answer.correlation_id, answer.ledger_transaction_id, answer.reason
            )

    async def on_paid(answer: FirmbankingSucceeded) -> None:
        if answer.correlation_id:
            await use_cases.payout_answered(
                deps, answer.message_id, answer.correlation_id, answer.transfer_id, answer.firmbanking_request_id, None
            )

    async def on_not_paid(answer: FirmbankingFailed) -> None:
        if answer.correlation_id:
            await use_cases.payout_answered(
                deps,
                answer.message_id,
                answer.correlation_id,
                answer.transfer_id,
                answer.firmbanking_request_id,
                answer.reason,
            )

    broker.subscribe(LedgerTransactionSucceeded, on_applied)
    broker.subscribe(LedgerTransactionFailed, on_refused)
    broker.subscribe(FirmbankingSucceeded, on_paid)
    broker.subscribe(FirmbankingFailed, on_not_paid)
