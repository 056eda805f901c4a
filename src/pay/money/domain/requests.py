"""Money changing requests: what a member asked for, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class RequestNotFound(Exception):
    pass


class SameWallet(Exception):
    """A transfer needs two different wallets."""


class BankTransferReused(Exception):
    """Another request's bank leg is already this firm banking transfer."""


class ChangeType(StrEnum):
    INCREASE = "INCREASE"
    DECREASE = "DECREASE"
    TRANSFER = "TRANSFER"
    # Ledger commands of other services' sagas: a hold set aside, then captured or released.
    HOLD = "HOLD"
    CAPTURE = "CAPTURE"
    RELEASE = "RELEASE"
    # Commerce: a wallet paying a franchise's payable, the corporate account receiving for it, a refund out
    # of it (to the wallet, or to the bank), and its settlement (fee to revenue, payout to the bank).
    PAYMENT = "PAYMENT"
    PAYABLE_CREDIT = "PAYABLE_CREDIT"
    REFUND = "REFUND"
    SETTLEMENT = "SETTLEMENT"


TRANSACTION_ID_REUSED = "ledger-transaction-id-reused"


class ChangeStatus(StrEnum):
    REQUESTED = "REQUESTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class BankLeg:
    """The bank side of a request: the firm banking transfer `transfer_id` moved `amount` into (> 0) or out
    of (< 0) the corporate account for it. The ledger records it in the transaction that accounts for the
    money, so that every bank transfer of the platform pairs with the ledger (`pay reconcile`)."""

    transfer_id: str
    request_id: str
    amount: int


@dataclass(frozen=True)
class LedgerAnswer:
    """What a saga that sent a ledger command is told: how its transaction ended (`reason` None when it
    succeeded), or that its id names another transaction (`TRANSACTION_ID_REUSED`)."""

    request_id: str
    change_type: ChangeType
    answer_to: str
    reason: str | None


@dataclass(frozen=True)
class RequestEnded:
    """A member's recharge or withdrawal ended (`reason` None when it succeeded), or a transfer moved money from
    `membership_id` to `counterpart`: the members are told (notifications)."""

    request_id: str
    change_type: ChangeType
    membership_id: str
    amount: int
    reason: str | None
    counterpart: str | None = None


# The requests whose end members are told of; a transfer only when it moved money.
_TOLD_ENDS = (ChangeType.INCREASE, ChangeType.DECREASE)


@dataclass
class MoneyChangingRequest:
    """`answer_to` is the correlation id of the saga that sent it as a ledger command, if one did: each
    time the request ends, or is asked for again once ended, it records a `LedgerAnswer` for it.
    `events` is a list of what it records: those answers, and for a member's recharge, withdrawal or transfer,
    how it ended (`RequestEnded`)."""

    request_id: str
    change_type: ChangeType
    target_membership_id: str | None
    amount: int
    status: ChangeStatus
    created_at: datetime
    updated_at: datetime
    counterpart_membership_id: str | None = None
    reason: str | None = None
    answer_to: str | None = None
    franchise_id: str | None = None
    events: list[LedgerAnswer | RequestEnded] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def new(
        cls,
        request_id: str,
        change_type: ChangeType,
        target: str | None,
        amount: int,
        now: datetime,
        counterpart: str | None = None,
        answer_to: str | None = None,
        franchise: str | None = None,
    ) -> MoneyChangingRequest:
        return cls(
            request_id,
            change_type,
            target,
            amount,
            ChangeStatus.REQUESTED,
            now,
            now,
            counterpart,
            answer_to=answer_to,
            franchise_id=franchise,
        )

    def answer_again(self, answer_to: str | None) -> None:
        """The command was sent again: its sender is answered now if the request has ended, else when it ends."""
        self.answer_to = answer_to
        if self.is_final:
            self._record_end()

    def answer_reuse(self, answer_to: str | None) -> None:
        """A command named this request's id for another movement: it is refused, and this request stays."""
        if answer_to is not None:
            self.events.append(LedgerAnswer(self.request_id, self.change_type, answer_to, TRANSACTION_ID_REUSED))

    def is_named_by(
        self,
        change_type: ChangeType,
        target: str | None,
        counterpart: str | None,
        amount: int | None,
        franchise: str | None = None,
    ) -> bool:
        """Whether a command with these terms names this request (`amount` None: the command does not say it)."""
        terms = (self.change_type, self.target_membership_id, self.counterpart_membership_id, self.franchise_id)
        return terms == (change_type, target, counterpart, franchise) and amount in (None, self.amount)

    def _record_end(self) -> None:
        if self.answer_to is not None:
            self.events.append(LedgerAnswer(self.request_id, self.change_type, self.answer_to, self.reason))

    @property
    def is_final(self) -> bool:
        return self.status is not ChangeStatus.REQUESTED

    def end(self, failure: str | None, now: datetime) -> None:
        """SUCCEEDED without a failure, FAILED with one."""
        if failure is None:
            self.succeed(now)
        else:
            self.fail(failure, now)

    def succeed(self, now: datetime) -> None:
        self._finish(ChangeStatus.SUCCEEDED, None, now)

    def fail(self, reason: str, now: datetime) -> None:
        self._finish(ChangeStatus.FAILED, reason, now)

    def _finish(self, status: ChangeStatus, reason: str | None, now: datetime) -> None:
        if self.is_final:
            raise ValueError(f"request {self.request_id} already ended {self.status}")
        self.status, self.reason, self.updated_at = status, reason, now
        self._record_end()
        self._tell_members()

    def _tell_members(self) -> None:
        if self.target_membership_id is None:
            return
        moved = self.change_type is ChangeType.TRANSFER and self.status is ChangeStatus.SUCCEEDED
        if self.change_type in _TOLD_ENDS or moved:
            self.events.append(
                RequestEnded(
                    self.request_id,
                    self.change_type,
                    self.target_membership_id,
                    self.amount,
                    self.reason,
                    self.counterpart_membership_id,
                )
            )
