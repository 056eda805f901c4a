"""The sagas of settlement, as pure state machines on the platform's saga runtime.

A **line saga** settles one franchise of a run. Each step sends one command and waits for its answer, or
makes one call to payment with a lease; a step that hears nothing asks again with the same id.

    PAYING_OUT --bank paid--> SETTLING --money applied--> FINISHING --payment marked them--> SUCCEEDED
        | bank refused           | refused, nothing paid out
        v                        v
    RELEASING --payment gave the payments back--> FAILED
                                 | refused after the bank paid: asked again (new id) after a pause

PAYING_OUT is skipped when the payout is 0, SETTLING when neither a fee nor a payout moves. A line that cannot
start (its franchise unknown, or without an account to pay) starts RELEASING. A FAILED line moved no money, and
payment gave its payments back so that a later run settles them; FINISHING and RELEASING are calls to payment
made under a lease, asked again until payment answers.

A **run saga** has payment claim the run's payments (a call made under a lease), reads the franchises, then the
run starts its lines. The **schedule saga** starts the run of each business day in turn.
A final step is never left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Protocol

from pay.settlement.domain.model import BankAccount, Schedule


class Backoff(Protocol):
    def delay(self, attempt: int) -> timedelta:
        """How long to wait after the `attempt`-th try that got no answer (1 for the first)."""


class Step(StrEnum):
    PAYING_OUT = "PAYING_OUT"
    SETTLING = "SETTLING"
    FINISHING = "FINISHING"
    RELEASING = "RELEASING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


FINAL_STEPS = frozenset({Step.SUCCEEDED, Step.FAILED})


@dataclass(frozen=True)
class PayoutRequested:
    """Banking is asked to move `amount` from the corporate account to the franchise's, once per `transfer_id`."""

    saga_id: str
    transfer_id: str
    source: BankAccount
    target: BankAccount
    amount: int


@dataclass(frozen=True)
class SettlementCommandSent:
    """Money is asked to move `fee` to revenue and take `payout` out of the franchise's payable, once per
    `transaction_id`; `bank_transfer_id` names the payout that paid it (none without a payout)."""

    saga_id: str
    transaction_id: str
    franchise_id: str
    fee: int
    payout: int
    bank_transfer_id: str | None


SagaEvent = PayoutRequested | SettlementCommandSent


@dataclass(frozen=True)
class FinishCall:
    """Payment is to be told the line's payments are settled; the answer counts only for this attempt."""

    attempt: int


@dataclass(frozen=True)
class ReleaseCall:
    """Payment is to be told to give the line's payments back; the answer counts only for this attempt."""

    attempt: int


# The steps that are a call to payment rather than a command.
_CALLS = frozenset({Step.FINISHING, Step.RELEASING})


@dataclass
class LineSaga:
    saga_id: str
    settlement_id: str
    franchise_id: str
    fee: int
    payout: int
    corporate_account: BankAccount
    franchise_account: BankAccount | None
    step: Step
    wake_at: datetime | None
    attempts: int = 0
    # Money keeps a refused ledger transaction refused: a settlement asked again after a refusal gets a new id.
    settle_round: int = 1
    failure: str | None = None
    firmbanking_request_id: str | None = None
    events: list[SagaEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def start(
        cls,
        saga_id: str,
        settlement_id: str,
        franchise_id: str,
        fee: int,
        payout: int,
        corporate: BankAccount,
        franchise_account: BankAccount | None,
        now: datetime,
        retry: Backoff,
        failure: str | None = None,
    ) -> LineSaga:
        """A line to settle; one that cannot be settled (`failure`) only gives its payments back."""
        if failure is None and payout > 0 and franchise_account is None:
            raise ValueError("a payout needs the franchise's bank account")
        saga = cls(
            saga_id, settlement_id, franchise_id, fee, payout, corporate, franchise_account, Step.PAYING_OUT, None
        )
        if failure is not None:
            saga._release(failure, now)
        elif payout > 0:
            saga._go(Step.PAYING_OUT, now, retry)
        elif fee > 0:
            saga._go(Step.SETTLING, now, retry)
        else:
            saga._go(Step.FINISHING, now, retry)
        return saga

    @property
    def is_finished(self) -> bool:
        return self.step in FINAL_STEPS

    @property
    def payout_transfer_id(self) -> str:
        return f"{self.saga_id}-payout"

    @property
    def settle_transaction_id(self) -> str:
        base = f"{self.saga_id}-settle"
        return base if self.settle_round == 1 else f"{base}-{self.settle_round}"

    def is_due(self, now: datetime) -> bool:
        return self.wake_at is not None and self.wake_at <= now

    def awaits_payout(self, transfer_id: str) -> bool:
        return self.step is Step.PAYING_OUT and transfer_id == self.payout_transfer_id

    def awaits_ledger(self, transaction_id: str) -> bool:
        return self.step is Step.SETTLING and transaction_id == self.settle_transaction_id

    def calls(self, attempt: int) -> bool:
        """Whether payment's answer to that attempt is still wanted: no later attempt has taken over."""
        return self.step in _CALLS and self.attempts == attempt

    def wake(self, now: datetime, retry: Backoff, lease: timedelta) -> FinishCall | ReleaseCall | None:
        """The step's time has come: its command is sent again with the same id, or, finishing or releasing, a
        lease is taken for the call to payment, made with the saga unlocked."""
        self.attempts += 1
        if self.step in _CALLS:
            self.wake_at = now + lease
            return FinishCall(self.attempts) if self.step is Step.FINISHING else ReleaseCall(self.attempts)
        self._send()
        self.wake_at = now + retry.delay(self.attempts)
        return None

    def payout_answered(
        self, transfer_id: str, firmbanking_request_id: str, failure: str | None, now: datetime, retry: Backoff
    ) -> None:
        """The bank paid the franchise (`failure` None), or surely did not."""
        if not self.awaits_payout(transfer_id):
            raise ValueError(f"saga {self.saga_id} at {self.step} does not wait for payout {transfer_id}")
        self.firmbanking_request_id = firmbanking_request_id
        if failure is None:
            self._go(Step.SETTLING, now, retry)
        else:
            self._release(failure, now)

    def ledger_answered(self, transaction_id: str, failure: str | None, now: datetime, retry: Backoff) -> None:
        """Money applied (`failure` None) or refused the settlement this step waits for."""
        if not self.awaits_ledger(transaction_id):
            raise ValueError(f"saga {self.saga_id} at {self.step} does not wait for {transaction_id}")
        if failure is None:
            self._go(Step.FINISHING, now, retry)
        elif self.payout == 0:
            # Nothing has left the corporate account: the line fails, and its payments wait for another run.
            self._release(failure, now)
        else:
            # The bank paid the franchise: the ledger must account for it. A fault to look at, not an outcome;
            # asked again under a new id after the pause (a payable that grows meanwhile takes it).
            self.failure = failure
            self.settle_round += 1
            self.wake_at = now + retry.delay(self.attempts + 1)

    def call_answered(self, attempt: int, done: bool, now: datetime, retry: Backoff) -> None:
        """Payment marked the payments settled or gave them back (`done`), or could not be reached: then asked
        again later."""
        if not self.calls(attempt):
            raise ValueError(f"saga {self.saga_id} at {self.step} does not wait for attempt {attempt}")
        if not done:
            self.wake_at = now + retry.delay(self.attempts)
        elif self.step is Step.FINISHING:
            self._finish(Step.SUCCEEDED, None)
        else:
            self._finish(Step.FAILED, self.failure)

    def _go(self, step: Step, now: datetime, retry: Backoff) -> None:
        self.step, self.attempts, self.failure = step, 1, None
        if step is Step.FINISHING:
            # Due at once: the timer makes the call, with a lease (no call is made under the saga's lock).
            self.attempts, self.wake_at = 0, now
            return
        self._send()
        self.wake_at = now + retry.delay(1)

    def _release(self, failure: str, now: datetime) -> None:
        # Due at once, like FINISHING; the failure is kept: it becomes the line's reason.
        self.step, self.attempts, self.failure, self.wake_at = Step.RELEASING, 0, failure, now

    def _send(self) -> None:
        if self.step is Step.PAYING_OUT:
            assert self.franchise_account is not None
            self.events.append(
                PayoutRequested(
                    self.saga_id, self.payout_transfer_id, self.corporate_account, self.franchise_account, self.payout
                )
            )
        elif self.step is Step.SETTLING:
            self.events.append(
                SettlementCommandSent(
                    saga_id=self.saga_id,
                    transaction_id=self.settle_transaction_id,
                    franchise_id=self.franchise_id,
                    fee=self.fee,
                    payout=self.payout,
                    bank_transfer_id=self.payout_transfer_id if self.payout > 0 else None,
                )
            )

    def _finish(self, step: Step, failure: str | None) -> None:
        self.step, self.failure, self.wake_at = step, failure, None


class RunStep(StrEnum):
    GATHERING = "GATHERING"
    GATHERED = "GATHERED"


@dataclass(frozen=True)
class GatherCall:
    attempt: int


@dataclass
class RunSaga:
    """Gathers a run's payments: the calls (payment's claim, the franchises) are made with the saga unlocked under
    a lease, and what they found is recorded only while the saga still waits for that attempt. Payment answers a
    claim asked again with what it claimed the first time, so a gathering tried again finds the same."""

    saga_id: str
    step: RunStep
    wake_at: datetime | None
    attempts: int = 0
    last_failure: str | None = None

    @classmethod
    def start(cls, settlement_id: str, now: datetime) -> RunSaga:
        return cls(settlement_id, RunStep.GATHERING, now)

    @property
    def is_finished(self) -> bool:
        return self.step is RunStep.GATHERED

    def is_due(self, now: datetime) -> bool:
        return self.wake_at is not None and self.wake_at <= now

    def wake(self, now: datetime, lease: timedelta) -> GatherCall:
        self.attempts += 1
        self.wake_at = now + lease
        return GatherCall(self.attempts)

    def gathers(self, attempt: int) -> bool:
        return self.step is RunStep.GATHERING and self.attempts == attempt

    def gathered(self) -> None:
        self.step, self.wake_at, self.last_failure = RunStep.GATHERED, None, None

    def gather_failed(self, reason: str, now: datetime, retry: Backoff) -> None:
        """Payment or franchise did not answer: no line was started; asked again after the pause."""
        self.last_failure = reason
        self.wake_at = now + retry.delay(self.attempts)


SCHEDULE_SAGA_ID = "settlement-schedule"


@dataclass
class ScheduleSaga:
    """Starts the run of `next_day` when its time comes, then waits for the next day's. Days missed while the
    service was down are caught up one by one, each under its own run id."""

    schedule: Schedule
    next_day: date
    wake_at: datetime | None
    saga_id: str = SCHEDULE_SAGA_ID

    @classmethod
    def start(cls, schedule: Schedule, now: datetime, timezone: tzinfo) -> ScheduleSaga:
        today = now.astimezone(timezone).date()
        return cls(schedule, today, schedule.run_time(today, timezone))

    def is_due(self, now: datetime) -> bool:
        return self.wake_at is not None and self.wake_at <= now

    def reschedule(self, schedule: Schedule, now: datetime, timezone: tzinfo) -> None:
        """The configured schedule changed: the next run waits for the new time (or for none, when `off`). A
        schedule turned on again starts from today: the days it was off are not caught up."""
        if self.schedule.at is None:
            self.next_day = now.astimezone(timezone).date()
        self.schedule = schedule
        self.wake_at = schedule.run_time(self.next_day, timezone)

    def fire(self, timezone: tzinfo) -> date:
        """The day whose run starts now; the saga then waits for the next one."""
        day = self.next_day
        self.next_day = day + timedelta(days=1)
        self.wake_at = self.schedule.run_time(self.next_day, timezone)
        return day
