"""Bank accounts and transfers.

A transfer either moves the whole amount from one account to another or moves nothing and says
why: a refused transfer is an ordinary outcome a bank reports (FAILED with a reason), not an error.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple


class AccountKey(NamedTuple):
    """Identifies an account; ordered, so that accounts can always be locked in the same order."""

    bank_name: str
    account_number: str

    def __str__(self) -> str:
        return f"{self.bank_name}/{self.account_number}"


class AccountExists(Exception):
    """An account with this bank name and number is already open."""


class AccountNotFound(Exception):
    """No account has this bank name and number."""


class FintechUseNotFound(Exception):
    """The bank issued no such fintech-use number."""


class TransferNotFound(Exception):
    """The bank never received a transfer with this id."""


class InsufficientFunds(Exception):
    """A withdrawal would take the balance below zero."""


@dataclass
class Account:
    key: AccountKey
    holder_name: str
    balance: int
    valid: bool = True

    def __post_init__(self) -> None:
        if self.balance < 0:
            raise ValueError(f"account {self.key} cannot open with a negative balance")

    def withdraw(self, amount: int) -> None:
        if amount > self.balance:
            raise InsufficientFunds(f"account {self.key} holds less than {amount}")
        self.balance -= amount

    def deposit(self, amount: int) -> None:
        self.balance += amount


class TransferStatus(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class FailureReason(StrEnum):
    SAME_ACCOUNT = "same-account"
    UNKNOWN_ACCOUNT = "unknown-account"
    INVALID_ACCOUNT = "invalid-account"
    INSUFFICIENT_FUNDS = "insufficient-funds"


@dataclass(frozen=True)
class TransferOutcome:
    transfer_id: str
    status: TransferStatus
    reason: FailureReason | None = None


@dataclass(frozen=True)
class Transfer:
    """An order to move `amount` won from `source` to `destination`, identified by the caller's id."""

    transfer_id: str
    source: AccountKey
    destination: AccountKey
    amount: int

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError(f"transfer {self.transfer_id} must move a positive amount")

    def settle(self, source: Account | None, destination: Account | None) -> TransferOutcome:
        """Move the money between the two accounts (`None`: no such account) or explain why not.

        On FAILED neither account has changed.
        """
        if self.source == self.destination:
            return self._failed(FailureReason.SAME_ACCOUNT)
        if source is None or destination is None:
            return self._failed(FailureReason.UNKNOWN_ACCOUNT)
        if not (source.valid and destination.valid):
            return self._failed(FailureReason.INVALID_ACCOUNT)
        try:
            source.withdraw(self.amount)
        except InsufficientFunds:
            return self._failed(FailureReason.INSUFFICIENT_FUNDS)
        destination.deposit(self.amount)
        return TransferOutcome(self.transfer_id, TransferStatus.SUCCEEDED)

    def _failed(self, reason: FailureReason) -> TransferOutcome:
        return TransferOutcome(self.transfer_id, TransferStatus.FAILED, reason)


@dataclass(frozen=True)
class StatementLine:
    """Money a transfer moved into (`amount` > 0) or out of (`amount` < 0) an account."""

    transfer_id: str
    counterparty: AccountKey
    amount: int
    at: datetime
