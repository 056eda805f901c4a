"""Remittance on the broker: sends its sagas' commands to money and banking, and hears their answers."""

from functools import partial

from pay.contracts.banking import RequestFirmbanking
from pay.contracts.messages import Message
from pay.contracts.money import (
    CaptureHold,
    HoldMoney,
    RechargeWallet,
    ReleaseHold,
    TransferBetweenWallets,
)
from pay.contracts.remittance import RemittanceFailed, RemittanceSucceeded
from pay.platform.answers import hear_ledger_answers, hear_transfer_answers
from pay.platform.broker import Broker
from pay.remittance.application import use_cases
from pay.remittance.application.use_cases import Dependencies
from pay.remittance.domain.model import RemittanceEnded
from pay.remittance.domain.saga import LedgerCommandSent, LedgerKind, PayoutRequested, SagaEvent


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
    return _ledger_command(event)


def remittance_ended(event: RemittanceEnded) -> RemittanceSucceeded | RemittanceFailed:
    remittance = event.remittance
    common = {
        "remittance_request_id": remittance.remittance_id,
        "from_membership_id": remittance.from_membership_id,
        "to_membership_id": remittance.to_membership_id,
        "to_bank_name": remittance.to_bank.bank_name if remittance.to_bank else None,
        "to_bank_account_number": remittance.to_bank.account_number if remittance.to_bank else None,
        "remittance_type": remittance.remittance_type.value,
        "amount": remittance.amount,
        "recharged_amount": remittance.recharged_amount,
    }
    if remittance.reason is None:
        return RemittanceSucceeded(**common)
    return RemittanceFailed(**common, reason=remittance.reason)


def _ledger_command(event: LedgerCommandSent) -> Message:
    common = {"correlation_id": event.saga_id, "ledger_transaction_id": event.transaction_id}
    match event.kind:
        case LedgerKind.RECHARGE:
            return RechargeWallet(**common, membership_id=event.membership_id, amount=event.amount)
        case LedgerKind.TRANSFER:
            assert event.counterpart is not None
            return TransferBetweenWallets(
                **common,
                from_membership_id=event.membership_id,
                to_membership_id=event.counterpart,
                amount=event.amount,
            )
        case LedgerKind.HOLD:
            return HoldMoney(**common, membership_id=event.membership_id, amount=event.amount)
        case LedgerKind.CAPTURE:
            assert event.hold_transaction_id is not None
            assert event.bank_transfer_id is not None
            return CaptureHold(
                **common,
                membership_id=event.membership_id,
                hold_transaction_id=event.hold_transaction_id,
                bank_transfer_id=event.bank_transfer_id,
            )
        case LedgerKind.RELEASE:
            assert event.hold_transaction_id is not None
            return ReleaseHold(
                **common, membership_id=event.membership_id, hold_transaction_id=event.hold_transaction_id
            )


def subscribe(broker: Broker, deps: Dependencies) -> None:
    hear_ledger_answers(broker, partial(use_cases.ledger_answered, deps))
    hear_transfer_answers(broker, partial(use_cases.payout_answered, deps))
