"""Money on the broker: asks banking for transfers, hears its answers and members' registrations and changes."""

from pay.contracts.banking import FirmbankingFailed, FirmbankingSucceeded, RequestFirmbanking
from pay.contracts.membership import MembershipModified, MembershipRegistered
from pay.money.application import use_cases
from pay.money.application.use_cases import Dependencies
from pay.money.domain.sagas import FirmBankingRequested
from pay.platform.broker import Broker


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


def subscribe(broker: Broker, deps: Dependencies) -> None:
    async def on_registered(event: MembershipRegistered) -> None:
        await use_cases.open_wallet_on_registration(deps, event.message_id, event.membership_id)

    async def on_modified(event: MembershipModified) -> None:
        await use_cases.membership_modified(
            deps, event.message_id, event.membership_id, event.is_valid, event.occurred_at
        )

    async def on_succeeded(event: FirmbankingSucceeded) -> None:
        if event.correlation_id:
            await use_cases.bank_transfer_answered(
                deps, event.message_id, event.correlation_id, event.transfer_id, None
            )

    async def on_failed(event: FirmbankingFailed) -> None:
        if event.correlation_id:
            await use_cases.bank_transfer_answered(
                deps, event.message_id, event.correlation_id, event.transfer_id, event.reason
            )

    broker.subscribe(MembershipRegistered, on_registered)
    broker.subscribe(MembershipModified, on_modified)
    broker.subscribe(FirmbankingSucceeded, on_succeeded)
    broker.subscribe(FirmbankingFailed, on_failed)
