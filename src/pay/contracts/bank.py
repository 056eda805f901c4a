"""The external bank simulator's public API (SPEC "External bank simulator")."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from pay.contracts.messages import CamelModel
from pay.contracts.types import Amount, Balance, BankAccountNumber, BankName, FintechUseNum, Flag, Name, TransferId


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


class FintechUse(CamelModel):
    """The number the bank issued for a linked account: it names the account in later calls instead of its
    account number."""

    model_config = ConfigDict(extra="ignore")

    fintech_use_num: str


class BankTransferRequest(CamelModel):
    """The source is named by its bank and account number, or by the fintech-use number the bank issued for it."""

    transfer_id: TransferId
    from_bank_name: BankName | None = None
    from_bank_account_number: BankAccountNumber | None = None
    from_fintech_use_num: FintechUseNum | None = None
    to_bank_name: BankName
    to_bank_account_number: BankAccountNumber
    amount: Amount

    @model_validator(mode="after")
    def _one_source(self) -> "BankTransferRequest":
        named = (self.from_bank_name, self.from_bank_account_number)
        by_number = None not in named
        if by_number == (self.from_fintech_use_num is not None) or (not by_number and named != (None, None)):
            raise ValueError("name the source by fromBankName and fromBankAccountNumber, or by fromFintechUseNum")
        return self


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
