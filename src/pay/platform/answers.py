"""How sagas hear the answers to the commands they sent: money's to ledger commands, banking's to firm banking.

Every answer reaches every service that subscribes; each is passed on only when it names the saga it
answers (its correlation id), and a service with no saga of that id changes nothing.
"""

from collections.abc import Awaitable, Callable

from pay.contracts.banking import FirmbankingFailed, FirmbankingSucceeded
from pay.contracts.money import LedgerTransactionFailed, LedgerTransactionSucceeded
from pay.platform.broker import Broker

# (message id, saga id, ledger transaction id, failure: None when money applied it)
LedgerAnswered = Callable[[str, str, str, str | None], Awaitable[None]]
# (message id, saga id, transfer id, firm banking request id, failure: None when the bank moved the money)
TransferAnswered = Callable[[str, str, str, str, str | None], Awaitable[None]]


def hear_ledger_answers(broker: Broker, answered: LedgerAnswered) -> None:
    async def on_applied(answer: LedgerTransactionSucceeded) -> None:
        if answer.correlation_id:
            await answered(answer.message_id, answer.correlation_id, answer.ledger_transaction_id, None)

    async def on_refused(answer: LedgerTransactionFailed) -> None:
        if answer.correlation_id:
            await answered(answer.message_id, answer.correlation_id, answer.ledger_transaction_id, answer.reason)

    broker.subscribe(LedgerTransactionSucceeded, on_applied)
    broker.subscribe(LedgerTransactionFailed, on_refused)


def hear_transfer_answers(broker: Broker, answered: TransferAnswered) -> None:
    async def on_moved(answer: FirmbankingSucceeded) -> None:
        if answer.correlation_id:
            await answered(
                answer.message_id, answer.correlation_id, answer.transfer_id, answer.firmbanking_request_id, None
            )

    async def on_not_moved(answer: FirmbankingFailed) -> None:
        if answer.correlation_id:
            await answered(
                answer.message_id,
                answer.correlation_id,
                answer.transfer_id,
                answer.firmbanking_request_id,
                answer.reason,
            )

    broker.subscribe(FirmbankingSucceeded, on_moved)
    broker.subscribe(FirmbankingFailed, on_not_moved)
