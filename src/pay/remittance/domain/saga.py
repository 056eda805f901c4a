"""The remittance saga, as a pure state machine on the platform's saga runtime.

Every step sends one command and waits for its answer: a ledger command to money (which applies each
ledger transaction once, however often it is sent) or a payout to banking (which moves each transfer id
once). So a step that hears nothing sends its command again, with the same id, until it is answered.

    [RECHARGING] --charged--> MEMBERSHIP: TRANSFERRING --moved--> SUCCEEDED
         | refused: FAILED                 | refused: FAILED
                              BANK: HOLDING --held--> PAYING_OUT --bank paid--> CAPTURING --captured--> SUCCEEDED
                                    | refused: FAILED   | bank refused: RELEASING --released--> FAILED

A recharge made for a remittance stays in the wallet whatever happens next. A final step is never left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from pay.remittance.domain.model import BankTarget, Remittance, RemittanceType


class Step(StrEnum):
    RECHARGING = "RECHARGING"
    TRANSFERRING = "TRANSFERRING"
    HOLDING = "HOLDING"
    PAYING_OUT = "PAYING_OUT"
    CAPTURING = "CAPTURING"
    RELEASING = "RELEASING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


FINAL_STEPS = frozenset({Step.SUCCEEDED, Step.FAILED})


class LedgerKind(StrEnum):
    RECHARGE = "RECHARGE"
    TRANSFER = "TRANSFER"
    HOLD = "HOLD"
    CAPTURE = "CAPTURE"
    RELEASE = "RELEASE"


# The ledger command each step sends; the payout step asks banking instead.
_LEDGER_STEPS = {
    Step.RECHARGING: LedgerKind.RECHARGE,
    Step.TRANSFERRING: LedgerKind.TRANSFER,
    Step.HOLDING: LedgerKind.HOLD,
    Step.CAPTURING: LedgerKind.CAPTURE,
    Step.RELEASING: LedgerKind.RELEASE,
}


class Backoff(Protocol):
    def delay(self, attempt: int) -> timedelta:
        """How long to wait after the `attempt`-th try that got no answer (1 for the first)."""


@dataclass(frozen=True)
class LedgerCommandSent:
    """Money is asked to apply ledger transaction `transaction_id`; it answers to `saga_id`."""

    saga_id: str
    kind: LedgerKind
    transaction_id: str
    membership_id: str
    amount: int
    counterpart: str | None = None
    hold_transaction_id: str | None = None
    # The payout that took a captured amount out of the corporate account.
    bank_transfer_id: str | None = None


@dataclass(frozen=True)
class PayoutRequested:
    """Banking is asked to move `amount` from the platform's corporate account to the target, once per
    `transfer_id`; it answers to `saga_id`."""

    saga_id: str
    transfer_id: str
    source: BankTarget
    target: BankTarget
    amount: int


SagaEvent = LedgerCommandSent | PayoutRequested


@dataclass
class RemittanceSaga:
    saga_id: str
    remittance_type: RemittanceType
    sender: str
    amount: int
    recharge: int
    corporate_account: BankTarget
    step: Step
    wake_at: datetime | None
    receiver: str | None = None
    target: BankTarget | None = None
    attempts: int = 0
    recharge_done: bool = False
    failure: str | None = None
    # Why the bank refused the payout, while the hold is being released.
    payout_refused: str | None = None
    # Banking's record of the payout, once it answered: part of what the remittance caused.
    firmbanking_request_id: str | None = None
    events: list[SagaEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def start(
        cls, remittance: Remittance, recharge: int, corporate: BankTarget, now: datetime, retry: Backoff
    ) -> RemittanceSaga:
        """The saga of a remittance just recorded: it recharges the shortfall first, if there is one."""
        saga = cls(
            saga_id=remittance.remittance_id,
            remittance_type=remittance.remittance_type,
            sender=remittance.from_membership_id,
            amount=remittance.amount,
            recharge=recharge,
            corporate_account=corporate,
            step=Step.RECHARGING,
            wake_at=None,
            receiver=remittance.to_membership_id,
            target=remittance.to_bank,
        )
        saga._go(Step.RECHARGING if recharge else saga._first_move(), now, retry)
        return saga

    @property
    def is_finished(self) -> bool:
        return self.step in FINAL_STEPS

    @property
    def recharged(self) -> int:
        """What was charged into the wallet for this remittance: it stays there whatever happens next."""
        return self.recharge if self.recharge_done else 0

    def transaction_id(self, kind: LedgerKind) -> str:
        return f"{self.saga_id}-{kind.value.lower()}"

    @property
    def payout_transfer_id(self) -> str:
        return f"{self.saga_id}-payout"

    def ledger_transactions(self) -> list[str]:
        """The ledger transactions this saga may have caused, in the order it would send them."""
        kinds = [LedgerKind.RECHARGE] if self.recharge else []
        if self.remittance_type is RemittanceType.MEMBERSHIP:
            kinds.append(LedgerKind.TRANSFER)
        else:
            kinds += [LedgerKind.HOLD, LedgerKind.CAPTURE, LedgerKind.RELEASE]
        return [self.transaction_id(kind) for kind in kinds]

    def is_due(self, now: datetime) -> bool:
        return self.wake_at is not None and self.wake_at <= now

    def wake(self, now: datetime, retry: Backoff) -> None:
        """No answer yet: send the step's command again, with the same id."""
        self.attempts += 1
        self._send()
        self.wake_at = now + retry.delay(self.attempts)

    def awaits_ledger(self, transaction_id: str) -> bool:
        kind = _LEDGER_STEPS.get(self.step)
        return kind is not None and self.transaction_id(kind) == transaction_id

    def awaits_payout(self, transfer_id: str) -> bool:
        return self.step is Step.PAYING_OUT and transfer_id == self.payout_transfer_id

    def ledger_answered(self, transaction_id: str, failure: str | None, now: datetime, retry: Backoff) -> None:
        """Money applied (`failure` None) or refused the transaction this step waits for."""
        if not self.awaits_ledger(transaction_id):
            raise ValueError(f"saga {self.saga_id} at {self.step} does not wait for {transaction_id}")
        match self.step, failure:
            case Step.RECHARGING, None:
                self.recharge_done = True
                self._go(self._first_move(), now, retry)
            case Step.RECHARGING | Step.TRANSFERRING | Step.HOLDING, str():
                self._finish(Step.FAILED, failure)
            case Step.TRANSFERRING | Step.CAPTURING, None:
                self._finish(Step.SUCCEEDED, None)
            case Step.HOLDING, None:
                self._go(Step.PAYING_OUT, now, retry)
            case Step.RELEASING, None:
                self._finish(Step.FAILED, self.payout_refused)
            case Step.CAPTURING | Step.RELEASING, str():
                # The hold is this saga's own and only it ends the hold: a refusal here is a fault to look
                # at, not an outcome. The step stays, and its command is sent again after the pause.
                self.wake_at = now + retry.delay(self.attempts + 1)

    def payout_answered(
        self, transfer_id: str, firmbanking_request_id: str, failure: str | None, now: datetime, retry: Backoff
    ) -> None:
        """The bank paid the target (`failure` None), or surely did not."""
        if not self.awaits_payout(transfer_id):
            raise ValueError(f"saga {self.saga_id} at {self.step} does not wait for payout {transfer_id}")
        self.firmbanking_request_id = firmbanking_request_id
        if failure is None:
            self._go(Step.CAPTURING, now, retry)
        else:
            self.payout_refused = failure
            self._go(Step.RELEASING, now, retry)

    def _first_move(self) -> Step:
        return Step.TRANSFERRING if self.remittance_type is RemittanceType.MEMBERSHIP else Step.HOLDING

    def _go(self, step: Step, now: datetime, retry: Backoff) -> None:
        self.step, self.attempts = step, 1
        self._send()
        self.wake_at = now + retry.delay(1)

    def _send(self) -> None:
        if self.step is Step.PAYING_OUT:
            assert self.target is not None
            self.events.append(
                PayoutRequested(self.saga_id, self.payout_transfer_id, self.corporate_account, self.target, self.amount)
            )
            return
        kind = _LEDGER_STEPS[self.step]
        self.events.append(
            LedgerCommandSent(
                saga_id=self.saga_id,
                kind=kind,
                transaction_id=self.transaction_id(kind),
                membership_id=self.sender,
                amount=self.recharge if kind is LedgerKind.RECHARGE else self.amount,
                counterpart=self.receiver if kind is LedgerKind.TRANSFER else None,
                hold_transaction_id=self.transaction_id(LedgerKind.HOLD)
                if kind in (LedgerKind.CAPTURE, LedgerKind.RELEASE)
                else None,
                bank_transfer_id=self.payout_transfer_id if kind is LedgerKind.CAPTURE else None,
            )
        )

    def _finish(self, step: Step, failure: str | None) -> None:
        self.step, self.failure, self.wake_at = step, failure, None
