"""Money's public API models."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from pay.contracts.messages import CamelModel, Message
from pay.contracts.types import MAX_AMOUNT, Amount, Identifier


class CreateMemberMoneyRequest(CamelModel):
    membership_id: Identifier


class MemberMoney(CamelModel):
    model_config = ConfigDict(extra="ignore")

    membership_id: str
    balance: int = Field(description="What the member can spend now")
    held_amount: int = Field(0, description="Set aside for withdrawals under way")


class MemberMoneyBatchRequest(CamelModel):
    membership_ids: Annotated[list[Identifier], Field(min_length=1, max_length=1000)]


class ChangeMoneyRequest(CamelModel):
    target_membership_id: Identifier
    amount: Amount


class TransferMoneyRequest(CamelModel):
    from_membership_id: Identifier
    to_membership_id: Identifier
    amount: Amount


class ChangingType(StrEnum):
    INCREASE = "INCREASE"
    DECREASE = "DECREASE"
    TRANSFER = "TRANSFER"
    HOLD = "HOLD"
    CAPTURE = "CAPTURE"
    RELEASE = "RELEASE"
    # Commerce: between wallets, franchises' payables and the platform's revenue (decision 22).
    PAYMENT = "PAYMENT"
    PAYABLE_CREDIT = "PAYABLE_CREDIT"
    REFUND = "REFUND"
    SETTLEMENT = "SETTLEMENT"


class ChangingStatus(StrEnum):
    REQUESTED = "REQUESTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class MoneyChangingRequest(CamelModel):
    model_config = ConfigDict(extra="ignore")

    money_changing_request_id: str
    target_membership_id: str | None = Field(description="The wallet it moves; none for a payable's own movements")
    counterpart_membership_id: str | None = None
    franchise_id: str | None = Field(None, description="The franchise whose payable it moves")
    changing_type: ChangingType
    amount: int
    status: ChangingStatus
    reason: str | None = None
    created_at: datetime
    updated_at: datetime
    status_url: str


class HistoryEntry(CamelModel):
    model_config = ConfigDict(extra="ignore")

    version: int
    kind: str
    amount: int = Field(
        description="The change to the spendable balance: a withdrawal shows when its amount is set aside (HELD), "
        "and as 0 when the bank has paid it out (HOLD_CAPTURED)"
    )
    money_changing_request_id: str
    occurred_at: datetime


class HistoryPage(CamelModel):
    model_config = ConfigDict(extra="ignore")

    membership_id: str
    items: list[HistoryEntry]
    next_cursor: str | None = None


class MoneySummary(CamelModel):
    model_config = ConfigDict(extra="ignore")

    wallets: int
    total_balance: int = Field(description="All money in wallets, held amounts included")
    total_held: int
    pending_requests: int
    unfinished_sagas: int = Field(
        alias="unfinishedProcesses", description="Recharges and withdrawals whose saga is still running"
    )
    total_payables: int = Field(0, description="What the platform owes franchises (negative where they owe it)")
    revenue: int = Field(0, description="The fees the platform kept")


class PayableBalance(CamelModel):
    model_config = ConfigDict(extra="ignore")

    franchise_id: str
    balance: int = Field(description="What the platform owes the franchise now; negative if the franchise owes")


class FailedRefund(CamelModel):
    """A recharge whose wallet could not take the money and whose refund the member's bank kept refusing:
    the amount sits in the corporate account, owed to the member, until an operator settles it."""

    model_config = ConfigDict(extra="ignore")

    money_changing_request_id: str
    membership_id: str
    amount: int
    reason: str = Field(description="Why the recharge failed, and the bank's last refusal of the refund")


class FailedRefundPage(CamelModel):
    model_config = ConfigDict(extra="ignore")

    items: list[FailedRefund]
    next_cursor: str | None = None


class BankLeg(CamelModel):
    """A firm banking transfer into (`amount` > 0) or out of (`amount` < 0) the corporate account, as the
    ledger accounts for it: the bank side of money changing request `moneyChangingRequestId`."""

    model_config = ConfigDict(extra="ignore")

    transfer_id: str
    money_changing_request_id: str
    amount: int


class BankLegPage(CamelModel):
    model_config = ConfigDict(extra="ignore")

    items: list[BankLeg]
    next_cursor: str | None = None


class WalletDifference(CamelModel):
    model_config = ConfigDict(extra="ignore")

    membership_id: str
    stored_balance: int
    stored_held: int
    stored_version: int
    rebuilt_balance: int
    rebuilt_held: int
    rebuilt_version: int


class UnbalancedTransaction(CamelModel):
    model_config = ConfigDict(extra="ignore")

    ledger_transaction_id: str
    off_by: int = Field(description="Won it put into wallets, payables and revenue beyond what it moved at the bank")


class RebuildCheck(CamelModel):
    model_config = ConfigDict(extra="ignore")

    wallets_checked: int
    differences: list[WalletDifference]
    ledger_transactions_checked: int
    unbalanced_count: int
    unbalanced: list[UnbalancedTransaction] = Field(description="The first of them, by ledger transaction id")


# Commands other services' sagas send money (SPEC "Accounts inside money"). Each names its ledger
# transaction: money applies it at most once, however often it is delivered or re-sent, and answers
# every delivery with `LedgerTransactionSucceeded` or `LedgerTransactionFailed` carrying the command's
# `correlation_id` (a recharge answers once its saga has ended).


class LedgerCommand(Message):
    ledger_transaction_id: Identifier


class TransferBetweenWallets(LedgerCommand):
    """Debit one wallet and credit another, in one transaction or not at all."""

    subject = "pay.commands.money.transfer-between-wallets.v1"

    from_membership_id: Identifier
    to_membership_id: Identifier
    amount: Amount


class HoldMoney(LedgerCommand):
    """Set an amount of the wallet aside: neither spendable nor held twice, until captured or released."""

    subject = "pay.commands.money.hold.v1"

    membership_id: Identifier
    amount: Amount


class CaptureHold(LedgerCommand):
    """The held amount has left the wallet: the hold `hold_transaction_id` set aside, paid out of the
    corporate account by the firm banking transfer `bank_transfer_id` (its bank leg)."""

    subject = "pay.commands.money.capture-hold.v1"

    membership_id: Identifier
    hold_transaction_id: Identifier
    bank_transfer_id: Identifier


class ReleaseHold(LedgerCommand):
    """Give the amount the hold `hold_transaction_id` set aside back to spend."""

    subject = "pay.commands.money.release-hold.v1"

    membership_id: Identifier
    hold_transaction_id: Identifier


class RechargeWallet(LedgerCommand):
    """Charge the wallet from the member's linked bank account (money's recharge saga)."""

    subject = "pay.commands.money.recharge.v1"

    membership_id: Identifier
    amount: Amount


# Commerce (SPEC "Accounts inside money"): a franchise's payable is what the platform owes it, revenue the
# fees it kept. A payable may go below zero through a refund or a fee taken after its payments were
# settled: the franchise then owes it, and its next settlement deducts it.


class PayFromWallet(LedgerCommand):
    """Debit the payer's wallet and credit the franchise's payable, in one transaction or not at all."""

    subject = "pay.commands.money.pay-from-wallet.v1"

    membership_id: Identifier
    franchise_id: Identifier
    amount: Amount


class CreditPayable(LedgerCommand):
    """The corporate account received `amount` for the franchise by the firm banking transfer `bank_transfer_id`
    (a payment taken straight from the payer's bank account): credit the franchise's payable."""

    subject = "pay.commands.money.credit-payable.v1"

    franchise_id: Identifier
    amount: Amount
    bank_transfer_id: Identifier


class RefundToWallet(LedgerCommand):
    """Give part or all of a wallet payment back: debit the franchise's payable, credit the payer's wallet."""

    subject = "pay.commands.money.refund-to-wallet.v1"

    franchise_id: Identifier
    membership_id: Identifier
    amount: Amount


class RefundFromPayable(LedgerCommand):
    """The corporate account paid part or all of a bank payment back to the payer by the firm banking transfer
    `bank_transfer_id`: debit the franchise's payable."""

    subject = "pay.commands.money.refund-from-payable.v1"

    franchise_id: Identifier
    amount: Amount
    bank_transfer_id: Identifier


class SettlePayable(LedgerCommand):
    """Settle a franchise: move `fee` from its payable to the platform's revenue and take `payout` from it, paid
    out of the corporate account by the firm banking transfer `bank_transfer_id` (none when `payout` is 0), which
    has already paid the franchise: it is recorded whatever the payable holds (decision 26)."""

    subject = "pay.commands.money.settle-payable.v1"

    franchise_id: Identifier
    fee: Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT)]
    payout: Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT)]
    bank_transfer_id: Identifier | None = None

    @model_validator(mode="after")
    def _payout_names_its_transfer(self) -> "SettlePayable":
        if (self.payout > 0) != (self.bank_transfer_id is not None):
            raise ValueError("a payout names the bank transfer that paid it, and only a payout does")
        if self.fee == 0 and self.payout == 0:
            raise ValueError("a settlement moves a fee, a payout or both")
        return self


class LedgerTransactionSucceeded(Message):
    subject = "pay.events.money.ledger-transaction-succeeded.v1"

    ledger_transaction_id: str
    kind: ChangingType


class LedgerTransactionFailed(Message):
    """The ledger transaction moved nothing, for `reason` (`insufficient-balance`, `wallet-not-found`, …)."""

    subject = "pay.events.money.ledger-transaction-failed.v1"

    ledger_transaction_id: str
    kind: ChangingType
    reason: str


class WalletChanged(Message):
    """A wallet's standing after a transaction that changed it (opened, credited, debited, held, released, captured).

    One per wallet and transaction, carrying the wallet's version then: a reader keeps the highest version it
    heard of, so a duplicate or a late copy changes nothing.
    """

    subject = "pay.events.money.wallet-changed.v1"

    membership_id: str
    balance: int = Field(description="What the member can spend now, as `GET /money/{membershipId}` answers")
    version: int
    changed_at: datetime


# Outcomes a member is told of (notifications, SPEC "Notifications and webhooks"): one per money changing
# request of a recharge, a withdrawal or a transfer, in the transaction that ends it.


class MoneyChangingEnded(Message):
    money_changing_request_id: str
    membership_id: str = Field(description="Whose wallet it charged, paid out of, or sent from")
    amount: int


class RechargeSucceeded(MoneyChangingEnded):
    """The member's bank account paid `amount` into its wallet."""

    subject = "pay.events.money.recharge-succeeded.v1"


class RechargeFailed(MoneyChangingEnded):
    """The recharge moved nothing, for `reason`."""

    subject = "pay.events.money.recharge-failed.v1"

    reason: str


class WithdrawalSucceeded(MoneyChangingEnded):
    """`amount` left the member's wallet for its linked bank account."""

    subject = "pay.events.money.withdrawal-succeeded.v1"


class WithdrawalFailed(MoneyChangingEnded):
    """The withdrawal moved nothing (a hold was released), for `reason`."""

    subject = "pay.events.money.withdrawal-failed.v1"

    reason: str


class MoneyTransferred(MoneyChangingEnded):
    """`amount` went from the wallet of `membershipId` to that of `toMembershipId`, by a transfer or a
    remittance's ledger transaction; a refused transfer moves nothing and is told of by no event."""

    subject = "pay.events.money.transferred.v1"

    to_membership_id: str
