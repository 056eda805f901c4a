"""Banking on the broker: "request firm banking" commands in, their answers out as contract messages."""

import structlog

from pay.banking.application import use_cases
from pay.banking.application.use_cases import Dependencies, FirmbankingCommand
from pay.banking.domain.model import (
    AccountRef,
    FirmbankingEvent,
    TransferFailed,
    TransferIdReused,
    TransferOrder,
    TransferSucceeded,
)
from pay.contracts.banking import FirmbankingFailed, FirmbankingSucceeded, RequestFirmbanking
from pay.contracts.messages import Message
from pay.platform.broker import Broker

_log = structlog.get_logger()


def to_message(event: FirmbankingEvent) -> Message:
    match event:
        case TransferSucceeded():
            return FirmbankingSucceeded(
                correlation_id=event.correlation_id,
                transfer_id=event.transfer_id,
                firmbanking_request_id=event.firmbanking_request_id,
                money_amount=event.money_amount,
            )
        case TransferFailed():
            return FirmbankingFailed(
                correlation_id=event.correlation_id,
                transfer_id=event.transfer_id,
                firmbanking_request_id=event.firmbanking_request_id,
                reason=event.reason,
            )


def _command(message: RequestFirmbanking) -> FirmbankingCommand:
    """The command as the use case takes it. The contract already held it to the HTTP body's rules: one
    that breaks them is a sender's bug, and the broker sets it aside at once instead of retrying it."""
    order = TransferOrder(
        message.transfer_id,
        AccountRef(message.from_bank_name, message.from_bank_account_number),
        AccountRef(message.to_bank_name, message.to_bank_account_number),
        message.money_amount,
    )
    return FirmbankingCommand(message.message_id, message.correlation_id, order)


def subscribe(broker: Broker, deps: Dependencies) -> None:
    async def on_request_firmbanking(message: RequestFirmbanking) -> None:
        try:
            await use_cases.apply_firmbanking_command(deps, _command(message))
        except TransferIdReused:
            # Answering would report the outcome of another movement of money; the sender must use a new id.
            _log.error(
                "firmbanking_transfer_id_reused",
                transfer_id=message.transfer_id,
                message_id=message.message_id,
                correlation_id=message.correlation_id,
            )

    broker.subscribe(RequestFirmbanking, on_request_firmbanking, consumer="request-firmbanking")
