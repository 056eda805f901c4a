"""Money on the broker: asks banking for transfers, hears its answers and members' registrations and changes,
applies the ledger commands of other services' sagas, answering each, and tells what each change left in a wallet."""

from pay.contracts.banking import RequestFirmbanking
from pay.contracts.membership import MembershipModified, MembershipRegistered
from pay.contracts.messages import Message
from pay.contracts.money import (
    CaptureHold,
    ChangingType,
    CreditPayable,
    HoldMoney,
    LedgerCommand,
    LedgerTransactionFailed,
    LedgerTransactionSucceeded,
    MoneyChangingEnded,
    MoneyTransferred,
    PayFromWallet,
    RechargeFailed,
    RechargeSucceeded,
    RechargeWallet,
    RefundFromPayable,
    RefundToWallet,
    ReleaseHold,
    SettlePayable,
    TransferBetweenWallets,
    WalletChanged,
    WithdrawalFailed,
    WithdrawalSucceeded,
)
from pay.money.adapters.wallet_repository import WalletSaved
from pay.money.application import use_cases
from pay.money.application.use_cases import Dependencies, LedgerOrder
from pay.money.domain.requests import ChangeType, LedgerAnswer, RequestEnded
from pay.money.domain.sagas import FirmBankingRequested
from pay.platform.answers import hear_transfer_answers
from pay.platform.broker import Broker

LEDGER_COMMANDS: tuple[type[LedgerCommand], ...] = (
    TransferBetweenWallets,
    HoldMoney,
    CaptureHold,
    ReleaseHold,
    RechargeWallet,
    PayFromWallet,
    CreditPayable,
    RefundToWallet,
    RefundFromPayable,
    SettlePayable,
)


def firmbanking_command(requested: FirmBankingRequested) -> RequestFirmbanking:
    transfer = requested.transfer
    return RequestFirmbanking(
        correlation_id=requested.saga_id,
        transfer_id=transfer.transfer_id,
        from_bank_name=transfer.source.bank_name,
        from_bank_account_number=transfer.source.account_number,
        to_bank_name=transfer.target.bank_name,
        to_bank_account_number=transfer.target.account_number,
        money_amount=transfer.amount,
    )


def ledger_answer(answer: LedgerAnswer) -> LedgerTransactionSucceeded | LedgerTransactionFailed:
    kind = ChangingType(answer.change_type.value)
    if answer.reason is None:
        return LedgerTransactionSucceeded(
            correlation_id=answer.answer_to, ledger_transaction_id=answer.request_id, kind=kind
        )
    return LedgerTransactionFailed(
        correlation_id=answer.answer_to, ledger_transaction_id=answer.request_id, kind=kind, reason=answer.reason
    )


def request_event(event: LedgerAnswer | RequestEnded) -> Message:
    return ledger_answer(event) if isinstance(event, LedgerAnswer) else request_ended(event)


def request_ended(ended: RequestEnded) -> MoneyChangingEnded:
    common = {
        "money_changing_request_id": ended.request_id,
        "membership_id": ended.membership_id,
        "amount": ended.amount,
    }
    match ended.change_type, ended.reason:
        case ChangeType.INCREASE, None:
            return RechargeSucceeded(**common)
        case ChangeType.INCREASE, reason:
            return RechargeFailed(**common, reason=reason)
        case ChangeType.DECREASE, None:
            return WithdrawalSucceeded(**common)
        case ChangeType.DECREASE, reason:
            return WithdrawalFailed(**common, reason=reason)
        case ChangeType.TRANSFER, None if ended.counterpart is not None:
            return MoneyTransferred(**common, to_membership_id=ended.counterpart)
    raise ValueError(f"members are not told of a {ended.change_type} ending {ended.reason}")


def wallet_changed(saved: WalletSaved) -> WalletChanged:
    return WalletChanged(
        membership_id=saved.membership_id,
        balance=saved.available,
        version=saved.version,
        changed_at=saved.changed_at,
    )


def ledger_order(command: LedgerCommand) -> LedgerOrder:
    match command:
        case TransferBetweenWallets():
            return LedgerOrder(
                command.ledger_transaction_id,
                ChangeType.TRANSFER,
                command.from_membership_id,
                command.amount,
                counterpart=command.to_membership_id,
            )
        case HoldMoney():
            return LedgerOrder(command.ledger_transaction_id, ChangeType.HOLD, command.membership_id, command.amount)
        case CaptureHold():
            return LedgerOrder(
                command.ledger_transaction_id,
                ChangeType.CAPTURE,
                command.membership_id,
                hold=command.hold_transaction_id,
                bank_transfer=command.bank_transfer_id,
            )
        case ReleaseHold():
            return LedgerOrder(
                command.ledger_transaction_id,
                ChangeType.RELEASE,
                command.membership_id,
                hold=command.hold_transaction_id,
            )
        case RechargeWallet():
            return LedgerOrder(
                command.ledger_transaction_id, ChangeType.INCREASE, command.membership_id, command.amount
            )
        case PayFromWallet():
            return LedgerOrder(
                command.ledger_transaction_id,
                ChangeType.PAYMENT,
                command.membership_id,
                command.amount,
                franchise=command.franchise_id,
            )
        case CreditPayable():
            return LedgerOrder(
                command.ledger_transaction_id,
                ChangeType.PAYABLE_CREDIT,
                None,
                command.amount,
                bank_transfer=command.bank_transfer_id,
                franchise=command.franchise_id,
            )
        case RefundToWallet():
            return LedgerOrder(
                command.ledger_transaction_id,
                ChangeType.REFUND,
                command.membership_id,
                command.amount,
                franchise=command.franchise_id,
            )
        case RefundFromPayable():
            return LedgerOrder(
                command.ledger_transaction_id,
                ChangeType.REFUND,
                None,
                command.amount,
                bank_transfer=command.bank_transfer_id,
                franchise=command.franchise_id,
            )
        case SettlePayable():
            return LedgerOrder(
                command.ledger_transaction_id,
                ChangeType.SETTLEMENT,
                None,
                command.fee + command.payout,
                bank_transfer=command.bank_transfer_id,
                franchise=command.franchise_id,
                fee=command.fee,
            )
        case _:
            raise TypeError(f"{type(command).__name__} is not a ledger command money knows")


def subscribe(broker: Broker, deps: Dependencies) -> None:
    async def on_registered(event: MembershipRegistered) -> None:
        await use_cases.open_wallet_on_registration(deps, event.message_id, event.membership_id)

    async def on_modified(event: MembershipModified) -> None:
        await use_cases.membership_modified(
            deps, event.message_id, event.membership_id, event.is_valid, event.occurred_at
        )

    async def on_transfer_answered(
        message_id: str, saga_id: str, transfer_id: str, _firmbanking_request_id: str, failure: str | None
    ) -> None:
        await use_cases.bank_transfer_answered(deps, message_id, saga_id, transfer_id, failure)

    async def on_ledger_command(command: LedgerCommand) -> None:
        await use_cases.apply_ledger_order(deps, command.message_id, ledger_order(command), command.correlation_id)

    for command_type in LEDGER_COMMANDS:
        broker.subscribe(command_type, on_ledger_command)
    broker.subscribe(MembershipRegistered, on_registered)
    broker.subscribe(MembershipModified, on_modified)
    hear_transfer_answers(broker, on_transfer_answered)
