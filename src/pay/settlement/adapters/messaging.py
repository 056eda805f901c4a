"""Settlement on the broker: sends its lines' commands to banking and money, and hears their answers."""

from functools import partial

from pay.contracts.banking import RequestFirmbanking
from pay.contracts.messages import Message
from pay.contracts.money import SettlePayable
from pay.platform.answers import hear_ledger_answers, hear_transfer_answers
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
    hear_ledger_answers(broker, partial(use_cases.ledger_answered, deps))
    hear_transfer_answers(broker, partial(use_cases.payout_answered, deps))
