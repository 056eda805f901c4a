"""The long-running sagas behind a recharge and a withdrawal, as pure state machines.

Both talk to the bank through banking's firm banking, which answers each transfer exactly once per
`transfer_id` however often it is asked, so re-asking after a silence is always safe.

Recharge (INCREASE):
    CHECKING_ACCOUNT --linked account found--> CHARGING --bank moved the money--> done, wallet credited
        |  no usable account: FAILED            |  bank refused: FAILED, nothing moved
                                                |  credit impossible --> REFUNDING --refunded--> FAILED
Withdrawal (DECREASE), the amount held in the wallet from the start:
    CHECKING_ACCOUNT --found--> PAYING_OUT --bank paid--> done, hold captured
        |  no usable account: hold released, FAILED     |  bank refused: hold released, FAILED

While waiting for banking the saga wakes up now and then and asks again with the same
`transfer_id`; it never gives up while the bank might have moved money.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class SagaKind(StrEnum):
    RECHARGE = "recharge"
    WITHDRAWAL = "withdrawal"


class Step(StrEnum):
    CHECKING_ACCOUNT = "CHECKING_ACCOUNT"
    CHARGING = "CHARGING"
    PAYING_OUT = "PAYING_OUT"
    REFUNDING = "REFUNDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


FINAL_STEPS = frozenset({Step.SUCCEEDED, Step.FAILED})


@dataclass(frozen=True)
class BankAccount:
    bank_name: str
    account_number: str


@dataclass(frozen=True)
class BankTransfer:
    """Ask banking to move `amount` from one account to another, once per `transfer_id`."""

    transfer_id: str
    source: BankAccount
    target: BankAccount
    amount: int


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(seconds=30)
    account_check_deadline: timedelta = timedelta(seconds=30)

    def delay(self, attempts: int) -> timedelta:
        # The exponent is capped first: a saga may wait for hours, and 2**attempts must not overflow.
        delay: timedelta = self.first_delay * 2 ** min(max(attempts - 1, 0), 30)
        return min(delay, self.max_delay)


@dataclass
class MoneySaga:
    saga_id: str
    kind: SagaKind
    request_id: str
    membership_id: str
    amount: int
    corporate_account: BankAccount
    step: Step
    started_at: datetime
    wake_at: datetime | None
    attempts: int = 0
    member_account: BankAccount | None = None
    failure: str | None = None

    @classmethod
    def start(
        cls, kind: SagaKind, request_id: str, membership_id: str, amount: int, corporate: BankAccount, now: datetime
    ) -> MoneySaga:
        return cls(request_id, kind, request_id, membership_id, amount, corporate, Step.CHECKING_ACCOUNT, now, now)

    @property
    def is_finished(self) -> bool:
        return self.step in FINAL_STEPS

    def pending_transfer(self) -> BankTransfer | None:
        """The bank transfer this saga is waiting for, if any."""
        if self.member_account is None:
            return None
        match self.step:
            case Step.CHARGING:
                return BankTransfer(
                    f"{self.request_id}-charge", self.member_account, self.corporate_account, self.amount
                )
            case Step.PAYING_OUT:
                return BankTransfer(
                    f"{self.request_id}-payout", self.corporate_account, self.member_account, self.amount
                )
            case Step.REFUNDING:
                return BankTransfer(
                    f"{self.request_id}-refund", self.corporate_account, self.member_account, self.amount
                )
        return None

    def account_found(self, account: BankAccount, now: datetime, policy: RetryPolicy) -> BankTransfer:
        self._expect(Step.CHECKING_ACCOUNT)
        self.member_account = account
        self.step = Step.CHARGING if self.kind is SagaKind.RECHARGE else Step.PAYING_OUT
        self.attempts = 0
        self.wake_at = now + policy.delay(1)
        transfer = self.pending_transfer()
        assert transfer is not None
        return transfer

    def account_unusable(self, reason: str) -> None:
        self._expect(Step.CHECKING_ACCOUNT)
        self._fail(reason)

    def banking_unreachable(self, now: datetime, policy: RetryPolicy) -> None:
        """Checking the account failed for now; nothing has moved, so past the deadline it is safe to give up."""
        self._expect(Step.CHECKING_ACCOUNT)
        if now - self.started_at >= policy.account_check_deadline:
            self._fail("banking-unavailable")
        else:
            self._retry_later(now, policy)

    def still_waiting(self, now: datetime, policy: RetryPolicy) -> BankTransfer:
        """No answer from banking yet: ask again with the same transfer id."""
        transfer = self.pending_transfer()
        if transfer is None:
            raise ValueError(f"saga {self.saga_id} is not waiting for the bank ({self.step})")
        self._retry_later(now, policy)
        return transfer

    def transfer_succeeded(self, transfer_id: str) -> bool:
        """The bank moved the money; true when this was the transfer being waited for."""
        if not self._waiting_for(transfer_id):
            return False
        self.step = Step.FAILED if self.step is Step.REFUNDING else Step.SUCCEEDED
        self.wake_at = None
        return True

    def transfer_failed(self, transfer_id: str, reason: str) -> bool:
        if not self._waiting_for(transfer_id):
            return False
        if self.step is Step.REFUNDING:
            # The member's account no longer takes the refund: the money sits in the corporate account and
            # the failure is kept on the request for an operator; `pay reconcile` reports it.
            self.failure = f"{self.failure}; refund failed: {reason}"
        else:
            self.failure = reason
        self.step = Step.FAILED
        self.wake_at = None
        return True

    def credit_impossible(self, reason: str, now: datetime, policy: RetryPolicy) -> BankTransfer:
        """The bank took the member's money but the wallet cannot take it: send it back."""
        self._expect(Step.SUCCEEDED)
        self.step = Step.REFUNDING
        self.failure = reason
        self.attempts = 0
        self.wake_at = now + policy.delay(1)
        transfer = self.pending_transfer()
        assert transfer is not None
        return transfer

    def _waiting_for(self, transfer_id: str) -> bool:
        transfer = self.pending_transfer()
        return transfer is not None and transfer.transfer_id == transfer_id

    def _retry_later(self, now: datetime, policy: RetryPolicy) -> None:
        self.attempts += 1
        self.wake_at = now + policy.delay(self.attempts)

    def _fail(self, reason: str) -> None:
        self.step, self.failure, self.wake_at = Step.FAILED, reason, None

    def _expect(self, step: Step) -> None:
        if self.step is not step:
            raise ValueError(f"saga {self.saga_id} is at {self.step}, not {step}")
