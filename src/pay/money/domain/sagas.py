"""The sagas behind a recharge and a withdrawal, as pure state machines.

Both move money at the bank through banking's firm banking, which executes each `transfer_id` once
however often it is asked, so asking again after a silence is always safe. A step may change the
wallet: it returns that change (a `WalletEffect`), which the use case applies in the same
transaction; and it records the firm banking it asks for (`FirmBankingRequested`), which the unit of
work sends when it commits.

Recharge:
    CHECKING_ACCOUNT --account found--> CHARGING --bank moved the money--> CREDITING --credited--> SUCCEEDED
        | no usable account: FAILED         | bank refused: FAILED, nothing moved   | credit impossible
                                                                                  v
                                                        FAILED <--refunded-- REFUNDING
                                   the member's bank refused the refund: a new refund after a pause, until
                                   the refund deadline; then FAILED with the money left in the corporate account
Withdrawal, the amount held in the wallet from the start:
    CHECKING_ACCOUNT --account found--> PAYING_OUT --bank paid--> SUCCEEDED, hold captured
        | no usable account: FAILED, hold released    | bank refused: FAILED, hold released

While waiting for banking a saga wakes up now and then and asks again with the same `transfer_id`;
it never gives up while the bank might have moved money. A final step (SUCCEEDED, FAILED) is never left.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar, Protocol, Self

from pay.money.domain.requests import BankLeg
from pay.money.domain.wallet import Wallet


class SagaKind(StrEnum):
    RECHARGE = "recharge"
    WITHDRAWAL = "withdrawal"


class Step(StrEnum):
    CHECKING_ACCOUNT = "CHECKING_ACCOUNT"
    CHARGING = "CHARGING"
    CREDITING = "CREDITING"
    PAYING_OUT = "PAYING_OUT"
    REFUNDING = "REFUNDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


FINAL_STEPS = frozenset({Step.SUCCEEDED, Step.FAILED})


class Backoff(Protocol):
    def delay(self, attempt: int) -> timedelta:
        """How long to wait after the `attempt`-th try that got no answer (1 for the first)."""


@dataclass(frozen=True)
class SagaTiming:
    """How long sagas wait between tries and how long they may try; the composition root sets the numbers."""

    retry: Backoff
    # Until then a saga that cannot reach banking to name the member's account fails: nothing has moved yet.
    account_check_deadline: timedelta
    # How long a saga is left alone while a call made for it is out: longer than any call may take, so
    # that only a crash leaves it to the timer, which then makes the call again.
    call_lease: timedelta
    # A refund the member's bank refused is tried again, with a new transfer id, after `refund_retry`'s
    # pause, until `refund_deadline` after the first refund; then the recharge fails for an operator.
    refund_retry: Backoff
    refund_deadline: timedelta


@dataclass(frozen=True)
class AccountCheck:
    """The saga needs the member's linked account: banking is asked with no lock held, and the answer is
    recorded only while the saga still waits for this attempt."""

    membership_id: str
    attempt: int


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
class FirmBankingRequested:
    """A saga asked banking for a transfer: sent as banking's "request firm banking" command."""

    saga_id: str
    transfer: BankTransfer


@dataclass(frozen=True)
class Hold:
    """Set the amount aside in the wallet, so it can be neither spent nor held twice."""

    amount: int

    def apply_to(self, wallet: Wallet, request_id: str, now: datetime, balance_limit: int) -> None:
        wallet.hold(self.amount, request_id, now)


@dataclass(frozen=True)
class Credit:
    """Add the amount to the wallet, within the most a wallet may hold."""

    amount: int

    def apply_to(self, wallet: Wallet, request_id: str, now: datetime, balance_limit: int) -> None:
        wallet.credit(self.amount, request_id, now, balance_limit)


@dataclass(frozen=True)
class Capture:
    """Take the held amount: it has left for the member's bank account."""

    def apply_to(self, wallet: Wallet, request_id: str, now: datetime, balance_limit: int) -> None:
        wallet.capture_hold(request_id, now)


@dataclass(frozen=True)
class Release:
    """Give the held amount back to the member to spend."""

    def apply_to(self, wallet: Wallet, request_id: str, now: datetime, balance_limit: int) -> None:
        wallet.release_hold(request_id, now)


WalletEffect = Hold | Credit | Capture | Release
# What a step does to the wallet: nothing, or one effect.
Effects = Sequence[WalletEffect]
NOTHING: Effects = ()


@dataclass
class MoneySaga(ABC):
    """What recharges and withdrawals share: checking the member's account, then waiting for the bank."""

    kind: ClassVar[SagaKind]
    # The step that waits for the bank once the member's account is known.
    _transfer_step: ClassVar[Step]

    saga_id: str
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
    # A recharge's refund: how many refund transfers it asked for, since when, and the bank's last refusal.
    refunds: int = 0
    refunding_since: datetime | None = None
    refund_refused: str | None = None
    events: list[FirmBankingRequested] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def start(
        cls, request_id: str, membership_id: str, amount: int, corporate: BankAccount, now: datetime
    ) -> tuple[Self, Effects]:
        """A saga that starts by checking the member's linked account at once, and what it does to the wallet."""
        saga = cls(request_id, request_id, membership_id, amount, corporate, Step.CHECKING_ACCOUNT, now, now)
        return saga, saga._opening()

    @property
    def is_finished(self) -> bool:
        return self.step in FINAL_STEPS

    def is_due(self, now: datetime) -> bool:
        return self.wake_at is not None and self.wake_at <= now

    def pending_transfer(self) -> BankTransfer | None:
        """The bank transfer this saga is waiting for, if any."""
        return None

    def awaits(self, transfer_id: str) -> bool:
        """Whether an answer about this transfer is one this saga is waiting for."""
        transfer = self.pending_transfer()
        return transfer is not None and transfer.transfer_id == transfer_id

    def bank_leg(self) -> BankLeg:
        """The corporate account's side of the transfer the saga waits for, once the bank has moved it."""
        transfer = self.pending_transfer()
        if transfer is None:
            raise ValueError(f"saga {self.saga_id} at {self.step} waits for no transfer")
        outgoing = transfer.source == self.corporate_account
        return BankLeg(transfer.transfer_id, self.request_id, -transfer.amount if outgoing else transfer.amount)

    def wake(self, now: datetime, timing: SagaTiming) -> AccountCheck | None:
        """The saga's time has come: it asks banking again for the transfer it waits for, or, checking the
        account, takes a lease for the call that looks the account up."""
        if self.step is not Step.CHECKING_ACCOUNT:
            self.still_waiting(now, timing)
            return None
        self.attempts += 1
        self.wake_at = now + timing.call_lease
        return AccountCheck(self.membership_id, self.attempts)

    def checks_account(self, attempt: int) -> bool:
        """Whether the answer of this account check is still wanted: no later check has taken over."""
        return self.step is Step.CHECKING_ACCOUNT and self.attempts == attempt

    def account_found(self, account: BankAccount, now: datetime, timing: SagaTiming) -> Effects:
        self._expect(Step.CHECKING_ACCOUNT)
        self.member_account = account
        self._ask_bank(self._transfer_step, now, timing)
        return NOTHING

    def account_unusable(self, reason: str) -> Effects:
        self._expect(Step.CHECKING_ACCOUNT)
        return self._fail(reason)

    def banking_unreachable(self, now: datetime, timing: SagaTiming) -> Effects:
        """Checking the account failed for now; nothing has moved, so past the deadline it is safe to give up."""
        self._expect(Step.CHECKING_ACCOUNT)
        if now - self.started_at >= timing.account_check_deadline:
            return self._fail("banking-unavailable")
        self.wake_at = now + timing.retry.delay(self.attempts)
        return NOTHING

    def still_waiting(self, now: datetime, timing: SagaTiming) -> None:
        """No answer from banking yet: ask again with the same transfer id."""
        self._send_pending_transfer()
        self.attempts += 1
        self.wake_at = now + timing.retry.delay(self.attempts)

    def transfer_succeeded(self, transfer_id: str) -> Effects:
        """The bank moved the money of the transfer this saga waits for."""
        self._expect_waiting_for(transfer_id)
        return self._succeeded()

    def transfer_failed(self, transfer_id: str, reason: str, now: datetime, timing: SagaTiming) -> Effects:
        """The bank refused the transfer this saga waits for: it moved nothing."""
        self._expect_waiting_for(transfer_id)
        return self._refused(reason, now, timing)

    @abstractmethod
    def effects_applied(self) -> None:
        """The wallet took what this step asked of it."""

    @abstractmethod
    def effects_refused(self, reason: str, now: datetime, timing: SagaTiming) -> None:
        """The wallet could not take what this step asked of it."""

    def _opening(self) -> Effects:
        return NOTHING

    @abstractmethod
    def _succeeded(self) -> Effects: ...

    @abstractmethod
    def _refused(self, reason: str, now: datetime, timing: SagaTiming) -> Effects: ...

    def _fail(self, reason: str) -> Effects:
        self._finish(Step.FAILED, reason)
        return NOTHING

    def _ask_bank(self, step: Step, now: datetime, timing: SagaTiming) -> None:
        """Move to a step that waits for the bank, and ask for its transfer now."""
        self.step, self.attempts = step, 0
        self._send_pending_transfer()
        self.wake_at = now + timing.retry.delay(1)

    def _send_pending_transfer(self) -> None:
        transfer = self.pending_transfer()
        if transfer is None:
            raise ValueError(f"saga {self.saga_id} is not waiting for the bank ({self.step})")
        self.events.append(FirmBankingRequested(self.saga_id, transfer))

    def _finish(self, step: Step, failure: str | None) -> None:
        self.step, self.failure, self.wake_at = step, failure, None

    def _expect(self, step: Step) -> None:
        if self.step is not step:
            raise ValueError(f"saga {self.saga_id} is at {self.step}, not {step}")

    def _expect_waiting_for(self, transfer_id: str) -> None:
        if not self.awaits(transfer_id):
            raise ValueError(f"saga {self.saga_id} at {self.step} is not waiting for transfer {transfer_id}")

    def _member_account(self) -> BankAccount:
        if self.member_account is None:
            raise ValueError(f"saga {self.saga_id} has no member account yet")
        return self.member_account


class RechargeSaga(MoneySaga):
    """Charge the member's bank account into the corporate one, then credit the wallet; if the wallet
    cannot take the money, send it back."""

    kind = SagaKind.RECHARGE
    _transfer_step = Step.CHARGING

    def pending_transfer(self) -> BankTransfer | None:
        match self.step:
            case Step.CHARGING:
                return BankTransfer(
                    f"{self.request_id}-charge", self._member_account(), self.corporate_account, self.amount
                )
            case Step.REFUNDING:
                # The bank executes a transfer id once and keeps a refusal: each new try needs a new id.
                suffix = "" if self.refunds == 1 else f"-{self.refunds}"
                return BankTransfer(
                    f"{self.request_id}-refund{suffix}", self.corporate_account, self._member_account(), self.amount
                )
        return None

    def effects_applied(self) -> None:
        if self.step is Step.CREDITING:
            self._finish(Step.SUCCEEDED, None)

    def effects_refused(self, reason: str, now: datetime, timing: SagaTiming) -> None:
        """The bank took the member's money but the wallet cannot take it: send it back."""
        self._expect(Step.CREDITING)
        self.failure = reason
        self.refunds, self.refunding_since = 1, now
        self._ask_bank(Step.REFUNDING, now, timing)

    def _succeeded(self) -> Effects:
        if self.step is Step.REFUNDING:
            # The money is back in the member's bank account; the request fails for why it was refunded.
            self.refund_refused = None
            self._finish(Step.FAILED, self.failure)
            return NOTHING
        self.step, self.wake_at = Step.CREDITING, None
        return (Credit(self.amount),)

    def _refused(self, reason: str, now: datetime, timing: SagaTiming) -> Effects:
        if self.step is Step.REFUNDING:
            return self._refund_refused(reason, now, timing)
        return self._fail(reason)

    def _refund_refused(self, reason: str, now: datetime, timing: SagaTiming) -> Effects:
        """The member's account did not take the refund: it may again later (a frozen account thawed), so
        the refund is tried again until the deadline; after it the money stays in the corporate account,
        the request fails with the bank's refusal for an operator, and `pay reconcile` names it."""
        assert self.refunding_since is not None
        self.refund_refused = reason
        next_try = now + timing.refund_retry.delay(self.refunds)
        if next_try - self.refunding_since > timing.refund_deadline:
            return self._fail(f"{self.failure}; refund refused: {reason}")
        # The next refund is asked for when the saga wakes up.
        self.refunds, self.attempts, self.wake_at = self.refunds + 1, 0, next_try
        return NOTHING


class WithdrawalSaga(MoneySaga):
    """Hold the amount in the wallet, pay it out from the corporate account to the member's, then take
    the hold; if the bank refuses, give the hold back."""

    kind = SagaKind.WITHDRAWAL
    _transfer_step = Step.PAYING_OUT

    def pending_transfer(self) -> BankTransfer | None:
        if self.step is Step.PAYING_OUT:
            return BankTransfer(
                f"{self.request_id}-payout", self.corporate_account, self._member_account(), self.amount
            )
        return None

    def _opening(self) -> Effects:
        return (Hold(self.amount),)

    def effects_applied(self) -> None:
        """A hold, a capture or a release completes no step: the bank's answer does."""

    def effects_refused(self, reason: str, now: datetime, timing: SagaTiming) -> None:
        # Only the opening hold can be refused, and then the withdrawal never starts.
        raise ValueError(f"saga {self.saga_id} at {self.step} cannot do without its wallet change ({reason})")

    def _succeeded(self) -> Effects:
        self._finish(Step.SUCCEEDED, None)
        return (Capture(),)

    def _refused(self, reason: str, now: datetime, timing: SagaTiming) -> Effects:
        return self._fail(reason)

    def _fail(self, reason: str) -> Effects:
        self._finish(Step.FAILED, reason)
        return (Release(),)


SAGA_TYPES: dict[SagaKind, type[MoneySaga]] = {saga.kind: saga for saga in (RechargeSaga, WithdrawalSaga)}
