"""The bank's use cases against an in-memory unit of work."""

import copy
from collections.abc import Collection
from types import TracebackType
from typing import Self

import pytest

from pay.bank.application import use_cases
from pay.bank.domain.model import (
    Account,
    AccountExists,
    AccountKey,
    AccountNotFound,
    FailureReason,
    Transfer,
    TransferNotFound,
    TransferOutcome,
    TransferStatus,
)

ALICE = AccountKey("KB", "111-1")
BOB = AccountKey("KB", "222-2")


class FakeAccounts:
    def __init__(self, rows: dict[AccountKey, Account]) -> None:
        self.rows = rows

    async def add(self, account: Account) -> bool:
        if account.key in self.rows:
            return False
        self.rows[account.key] = copy.copy(account)
        return True

    async def get(self, key: AccountKey) -> Account | None:
        return copy.copy(self.rows.get(key))

    async def lock(self, keys: Collection[AccountKey]) -> dict[AccountKey, Account]:
        return {key: copy.copy(self.rows[key]) for key in sorted(keys) if key in self.rows}

    async def update_balance(self, account: Account) -> None:
        self.rows[account.key].balance = account.balance


class FakeTransfers:
    def __init__(self, rows: dict[str, TransferOutcome | None]) -> None:
        self.rows = rows

    async def claim(self, transfer: Transfer) -> bool:
        if transfer.transfer_id in self.rows:
            return False
        self.rows[transfer.transfer_id] = None
        return True

    async def record(self, outcome: TransferOutcome) -> None:
        self.rows[outcome.transfer_id] = outcome

    async def outcome_of(self, transfer_id: str) -> TransferOutcome | None:
        return self.rows.get(transfer_id)


class FakeUnitOfWork:
    """Works on copies of the committed state and keeps them only on `commit()`."""

    def __init__(self) -> None:
        self.committed_accounts: dict[AccountKey, Account] = {}
        self.committed_transfers: dict[str, TransferOutcome | None] = {}

    async def __aenter__(self) -> Self:
        self.accounts = FakeAccounts(copy.deepcopy(self.committed_accounts))
        self.transfers = FakeTransfers(dict(self.committed_transfers))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass

    async def commit(self) -> None:
        self.committed_accounts = self.accounts.rows
        self.committed_transfers = self.transfers.rows


@pytest.fixture
async def uow() -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    await use_cases.open_account(uow, Account(ALICE, "Alice", 1_000))
    await use_cases.open_account(uow, Account(BOB, "Bob", 0))
    return uow


async def balances(uow: FakeUnitOfWork) -> tuple[int, int]:
    return (await use_cases.get_account(uow, ALICE)).balance, (await use_cases.get_account(uow, BOB)).balance


async def test_an_account_is_opened_once(uow: FakeUnitOfWork) -> None:
    with pytest.raises(AccountExists):
        await use_cases.open_account(uow, Account(ALICE, "Mallory", 10**9))

    assert await use_cases.get_account(uow, ALICE) == Account(ALICE, "Alice", 1_000)


async def test_an_unknown_account_is_not_found(uow: FakeUnitOfWork) -> None:
    with pytest.raises(AccountNotFound):
        await use_cases.get_account(uow, AccountKey("KB", "999"))


async def test_a_transfer_is_executed_once_per_id(uow: FakeUnitOfWork) -> None:
    first = await use_cases.execute_transfer(uow, Transfer("t-1", ALICE, BOB, 300))
    again = await use_cases.execute_transfer(uow, Transfer("t-1", ALICE, BOB, 700))

    assert first == again == TransferOutcome("t-1", TransferStatus.SUCCEEDED)
    assert await balances(uow) == (700, 300)
    assert await use_cases.get_transfer(uow, "t-1") == first


async def test_a_failed_transfer_is_stored_and_moves_nothing(uow: FakeUnitOfWork) -> None:
    outcome = await use_cases.execute_transfer(uow, Transfer("t-1", ALICE, BOB, 1_001))

    assert outcome == TransferOutcome("t-1", TransferStatus.FAILED, FailureReason.INSUFFICIENT_FUNDS)
    assert await use_cases.get_transfer(uow, "t-1") == outcome
    assert await balances(uow) == (1_000, 0)


async def test_a_transfer_never_received_is_not_found(uow: FakeUnitOfWork) -> None:
    with pytest.raises(TransferNotFound):
        await use_cases.get_transfer(uow, "never-sent")


async def test_the_corporate_account_is_seeded_once(uow: FakeUnitOfWork) -> None:
    corporate = AccountKey("PAYBANK", "100-0000-0001")

    assert await use_cases.seed_corporate_account(uow, corporate, 5_000)
    await use_cases.execute_transfer(uow, Transfer("t-1", corporate, ALICE, 2_000))
    assert not await use_cases.seed_corporate_account(uow, corporate, 5_000)

    account = await use_cases.get_account(uow, corporate)
    assert (account.holder_name, account.balance) == (use_cases.CORPORATE_HOLDER_NAME, 3_000)
