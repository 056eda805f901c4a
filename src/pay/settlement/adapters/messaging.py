"""Settlement on the broker: sends its lines' commands to banking and money, hears their answers, and says how
each line ended."""

from functools import partial

from pay.contracts.banking import RequestFirmbanking
from pay.contracts.messages import Message
from pay.contracts.money import SettlePayable
from pay.contracts.settlement import LineStatus, SettlementLine, SettlementLineFailed, SettlementLinePaid
from pay.platform.answers import hear_ledger_answers, hear_transfer_answers
from pay.platform.broker import Broker
from pay.settlement.application import use_cases
from pay.settlement.application.use_cases import Dependencies
from pay.settlement.domain import model
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


def line_view(line: model.Line) -> SettlementLine:
    return SettlementLine(
        franchise_id=line.franchise_id,
        gross=line.sums.gross,
        fee=line.sums.fee,
        owed=line.sums.owed,
        payout=line.sums.payout,
        carried=line.sums.carried,
        status=LineStatus(line.status.value),
        reason=line.reason,
        payment_count=line.payment_count,
    )


def outcome_message(event: model.LineEnded) -> Message:
    """How a franchise's line ended, for notifications and merchant webhooks."""
    paid = event.line.status is model.LineStatus.SUCCEEDED
    event_type = SettlementLinePaid if paid else SettlementLineFailed
    return event_type(correlation_id=event.line.key, settlement_id=event.line.settlement_id, line=line_view(event.line))


def subscribe(broker: Broker, deps: Dependencies) -> None:
    hear_ledger_answers(broker, partial(use_cases.ledger_answered, deps))
    hear_transfer_answers(broker, partial(use_cases.payout_answered, deps))
