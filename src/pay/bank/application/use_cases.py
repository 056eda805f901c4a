"""The bank's operations, one function each; every one runs in a single unit of work."""

from collections.abc import Sequence

from pay.bank.application.ports import UnitOfWork
from pay.bank.domain.model import (
    Account,
    AccountExists,
    AccountKey,
    AccountNotFound,
    FintechUseNotFound,
    StatementLine,
    Transfer,
    TransferNotFound,
    TransferOutcome,
    TransferStatus,
)

CORPORATE_HOLDER_NAME = "Pay Corporation"


async def open_account(uow: UnitOfWork, account: Account) -> Account:
    async with uow:
        if not await uow.accounts.add(account):
            raise AccountExists(f"account {account.key} already exists")
        await uow.commit()
    return account


async def get_account(uow: UnitOfWork, key: AccountKey) -> Account:
    async with uow:
        account = await uow.accounts.get(key)
    if account is None:
        raise AccountNotFound(f"no account {key}")
    return account


async def issue_fintech_use(uow: UnitOfWork, key: AccountKey, candidate: str) -> str:
    """The account's fintech-use number, issued on the first request (as `candidate`) and the same ever after."""
    async with uow:
        if await uow.accounts.get(key) is None:
            raise AccountNotFound(f"no account {key}")
        number = await uow.fintech_uses.issue(key, candidate)
        await uow.commit()
    return number


async def account_of_fintech_use(uow: UnitOfWork, fintech_use_num: str) -> Account:
    async with uow:
        key = await uow.fintech_uses.account_of(fintech_use_num)
        account = None if key is None else await uow.accounts.get(key)
    if account is None:
        raise FintechUseNotFound(f"no fintech-use number {fintech_use_num}")
    return account


async def execute_transfer(uow: UnitOfWork, transfer: Transfer) -> TransferOutcome:
    """Execute `transfer` once: a repeated transfer id returns the first outcome and moves nothing.

    The transfer is claimed before any account is touched, so a concurrent duplicate waits for the
    original to finish and then reads its outcome instead of moving the money a second time.
    """
    async with uow:
        if not await uow.transfers.claim(transfer):
            stored = await uow.transfers.outcome_of(transfer.transfer_id)
            # A committed claim always carries its outcome: both are written in one transaction.
            assert stored is not None, f"transfer {transfer.transfer_id} claimed without an outcome"
            return stored
        accounts = await uow.accounts.lock({transfer.source, transfer.destination})
        outcome = transfer.settle(accounts.get(transfer.source), accounts.get(transfer.destination))
        if outcome.status is TransferStatus.SUCCEEDED:
            for account in accounts.values():
                await uow.accounts.update_balance(account)
        await uow.transfers.record(outcome)
        await uow.commit()
    return outcome


async def get_transfer(uow: UnitOfWork, transfer_id: str) -> TransferOutcome:
    async with uow:
        outcome = await uow.transfers.outcome_of(transfer_id)
    if outcome is None:
        raise TransferNotFound(f"no transfer {transfer_id}")
    return outcome


async def statement(uow: UnitOfWork, key: AccountKey, after: str | None, limit: int) -> Sequence[StatementLine]:
    async with uow:
        if await uow.accounts.get(key) is None:
            raise AccountNotFound(f"no account {key}")
        return await uow.transfers.statement(key, after, limit)


async def seed_corporate_account(uow: UnitOfWork, key: AccountKey, balance: int) -> bool:
    """Open the platform's corporate account unless it exists; True if it was opened now.

    An existing account is left as it is: its balance reflects the money moved since it was seeded.
    """
    async with uow:
        opened = await uow.accounts.add(Account(key, CORPORATE_HOLDER_NAME, balance))
        await uow.commit()
    return opened
