"""Banking's public API models, and the firm banking command and its answers on the broker."""

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict

from pay.contracts.messages import CamelModel, Message
from pay.contracts.types import Amount, BankAccountNumber, BankName, Identifier, TransferId


class RegisterBankAccountRequest(CamelModel):
    membership_id: Identifier
    bank_name: BankName
    bank_account_number: BankAccountNumber


class RegisteredBankAccount(CamelModel):
    model_config = ConfigDict(extra="ignore")

    registered_bank_account_id: str
    membership_id: str
    bank_name: str
    bank_account_number: str
    linked_status_is_valid: bool
    created_at: datetime


class BankBalance(CamelModel):
    """A linked account's balance at the bank as banking last saw it (`asOf`); `fresh` is false once it is older
    than banking's maximum age, or when a refresh that was asked for did not reach the bank."""

    model_config = ConfigDict(extra="ignore")

    balance: int
    as_of: datetime
    fresh: bool


class ConfirmedBankAccount(CamelModel):
    """An account the bank knows and says may be used, as it answered when asked."""

    model_config = ConfigDict(extra="ignore")

    bank_name: str
    bank_account_number: str
    holder_name: str
    # Always true in an answer: an account the bank marks invalid is refused (422 bank-account-invalid).
    # Kept so that a caller reads the bank's word, not the absence of an error.
    valid: bool


class FirmbankingRequestBody(CamelModel):
    from_bank_name: BankName
    from_bank_account_number: BankAccountNumber
    to_bank_name: BankName
    to_bank_account_number: BankAccountNumber
    money_amount: Amount


class FirmbankingStatus(StrEnum):
    REQUESTED = "REQUESTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class FirmbankingRequest(CamelModel):
    model_config = ConfigDict(extra="ignore")

    firmbanking_request_id: str
    transfer_id: str
    from_bank_name: str
    from_bank_account_number: str
    to_bank_name: str
    to_bank_account_number: str
    money_amount: int
    status: FirmbankingStatus
    reason: str | None = None
    external_transaction_id: str | None = None
    created_at: datetime
    updated_at: datetime


class RequestFirmbanking(Message):
    """A saga asks banking to move money at the bank.

    `transfer_id` is the platform's own id for this movement: banking runs it at most once, however
    often the command is delivered or re-sent, and the bank de-duplicates on it too. The answer is
    `FirmbankingSucceeded` or `FirmbankingFailed` with the same `correlation_id` and `transfer_id`.
    """

    subject = "pay.commands.banking.request-firmbanking.v1"

    transfer_id: TransferId
    from_bank_name: BankName
    from_bank_account_number: BankAccountNumber
    to_bank_name: BankName
    to_bank_account_number: BankAccountNumber
    money_amount: Amount


class FirmbankingSucceeded(Message):
    subject = "pay.events.banking.firmbanking-succeeded.v1"

    transfer_id: str
    firmbanking_request_id: str
    money_amount: int


class FirmbankingFailed(Message):
    """Sent only once the bank surely did not move the money."""

    subject = "pay.events.banking.firmbanking-failed.v1"

    transfer_id: str
    firmbanking_request_id: str
    reason: str
