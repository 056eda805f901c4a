"""The external bank simulator's public API (SPEC "External bank simulator")."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field

from pay.contracts.messages import CamelModel
from pay.contracts.types import Amount, Balance, BankAccountNumber, BankName, Flag, Name, TransferId


class OpenBankAccountRequest(CamelModel):
    bank_name: BankName
    bank_account_number: BankAccountNumber
    holder_name: Name
    balance: Balance = 0
    valid: Flag = True


class BankAccount(CamelModel):
    model_config = ConfigDict(extra="ignore")

    bank_name: str
    bank_account_number: str
    holder_name: str
    balance: int
    valid: bool


class BankTransferRequest(CamelModel):
    transfer_id: TransferId
    from_bank_name: BankName
    from_bank_account_number: BankAccountNumber
    to_bank_name: BankName
    to_bank_account_number: BankAccountNumber
    amount: Amount


class TransferStatus(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class BankTransferResult(CamelModel):
    model_config = ConfigDict(extra="ignore")

    transfer_id: str
    status: TransferStatus
    reason: str | None = None


class StatementLine(CamelModel):
    """A transfer that moved money into (`amount` > 0) or out of (`amount` < 0) the account."""

    model_config = ConfigDict(extra="ignore")

    transfer_id: str
    counterparty_bank_name: str
    counterparty_bank_account_number: str
    amount: int
    at: datetime


class BankStatement(CamelModel):
    model_config = ConfigDict(extra="ignore")

    items: list[StatementLine]
    next_cursor: str | None = None


class BankFaults(CamelModel):
    latency_ms: Annotated[int, Field(strict=True, ge=0, le=60_000)] = 0
    error_rate: Annotated[float, Field(strict=True, ge=0.0, le=1.0, description="Share of requests answered 503")] = 0.0
    down: Flag = False
