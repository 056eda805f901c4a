"""The payment and refund sagas, as pure state machines on the platform's saga runtime.

Every step sends one command and waits for its answer: a ledger command to money (which applies each ledger
transaction once, however often it is sent) or a firm banking transfer to banking (which moves each transfer
id once). So a step that hears nothing sends its command again, with the same id, until it is answered.

Payment (ids `<paymentId>-recharge`, `-pay`, `-charge`, `-credit`):

    WALLET: [RECHARGING] --charged--> PAYING --paid--> SUCCEEDED
                 | refused: FAILED      | refused: FAILED
    BANK:   CHARGING --bank moved it--> CREDITING --credited--> SUCCEEDED
                 | bank refused: FAILED (the bank's reason kept)

Refund (ids `<refundId>-refund` and, for BANK, `<refundId>-payable`):

    WALLET: REFUNDING --given back--> SUCCEEDED          | refused: FAILED
    BANK:   PAYING_BACK --bank paid the payer--> DEBITING --payable debited--> SUCCEEDED
                 | bank refused: FAILED (nothing debited)

A recharge made for a payment stays in the wallet whatever happens next. Once the bank has moved money
(CREDITING, DEBITING) the ledger must account for it: a refusal there is a fault, not an outcome, and the step
asks again after its pause. A final step is never left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from pay.payment.domain.model import BankAccount, Payment, PaymentMethod, Refund


class Step(StrEnum):
    RECHARGING = "RECHARGING"
    PAYING = "PAYING"
    CHARGING = "CHARGING"
    CREDITING = "CREDITING"
    REFUNDING = "REFUNDING"
    PAYING_BACK = "PAYING_BACK"
    DEBITING = "DEBITING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


FINAL_STEPS = frozenset({Step.SUCCEEDED, Step.FAILED})


class LedgerKind(StrEnum):
    RECHARGE = "RECHARGE"
    PAY = "PAY"
    CREDIT = "CREDIT"
    REFUND = "REFUND"
    PAYABLE = "PAYABLE"


# The ledger command each step sends; the other steps ask banking for a transfer.
_LEDGER_STEPS = {
    Step.RECHARGING: LedgerKind.RECHARGE,
    Step.PAYING: LedgerKind.PAY,
    Step.CREDITING: LedgerKind.CREDIT,
    Step.REFUNDING: LedgerKind.REFUND,
    Step.DEBITING: LedgerKind.PAYABLE,
}
_TRANSFER_STEPS = frozenset({Step.CHARGING, Step.PAYING_BACK})
# Steps after the bank moved money: the ledger must take it, so a refusal is asked again, never an outcome.
_MUST_APPLY = frozenset({Step.CREDITING, Step.DEBITING})


class Backoff(Protocol):
    def delay(self, attempt: int) -> timedelta:
        """How long to wait after the `attempt`-th try that got no answer (1 for the first)."""


@dataclass(frozen=True)
class LedgerCommandSent:
    """Money is asked to apply ledger transaction `transaction_id`; it answers to `saga_id`."""

    saga_id: str
    kind: LedgerKind
    transaction_id: str
    franchise_id: str
    amount: int
    membership_id: str | None = None
    # The firm banking transfer of the corporate account the transaction accounts for (its bank leg).
    bank_transfer_id: str | None = None


@dataclass(frozen=True)
class FirmBankingRequested:
    """Banking is asked to move `amount` from `source` to `target`, once per `transfer_id`; it answers to
    `saga_id`."""

    saga_id: str
    transfer_id: str
    source: BankAccount
    target: BankAccount
    amount: int


SagaEvent = LedgerCommandSent | FirmBankingRequested


@dataclass
class _Saga:
    """What both sagas share: one command per step, re-sent with the same id until it is answered."""

    saga_id: str
    method: PaymentMethod
    payer: str
    franchise_id: str
    amount: int
    corporate_account: BankAccount
    step: Step
    wake_at: datetime | None
    payer_account: BankAccount | None = None
    attempts: int = 0
    failure: str | None = None
    # Banking's record of the transfer, once it answered.
    firmbanking_request_id: str | None = None
    events: list[SagaEvent] = field(default_factory=list, compare=False, repr=False)

    @property
    def is_finished(self) -> bool:
        return self.step in FINAL_STEPS

    def transaction_id(self, kind: LedgerKind) -> str:
        return f"{self.saga_id}-{kind.value.lower()}"

    @property
    def transfer_id(self) -> str:
        raise NotImplementedError

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

    def awaits_transfer(self, transfer_id: str) -> bool:
        return self.step in _TRANSFER_STEPS and transfer_id == self.transfer_id

    def ledger_answered(self, transaction_id: str, failure: str | None, now: datetime, retry: Backoff) -> None:
        """Money applied (`failure` None) or refused the transaction this step waits for."""
        if not self.awaits_ledger(transaction_id):
            raise ValueError(f"saga {self.saga_id} at {self.step} does not wait for {transaction_id}")
        if failure is not None and self.step in _MUST_APPLY:
            # The bank moved the money already: the ledger has to account for it. The step stays, visible as
            # an unfinished saga, and its command is sent again after the pause.
            self.wake_at = now + retry.delay(self.attempts + 1)
            return
        if failure is not None:
            self._finish(Step.FAILED, failure)
            return
        self._applied(now, retry)

    def transfer_answered(
        self, transfer_id: str, firmbanking_request_id: str, failure: str | None, now: datetime, retry: Backoff
    ) -> None:
        """The bank moved the money (`failure` None), or surely did not."""
        if not self.awaits_transfer(transfer_id):
            raise ValueError(f"saga {self.saga_id} at {self.step} does not wait for transfer {transfer_id}")
        self.firmbanking_request_id = firmbanking_request_id
        if failure is not None:
            self._finish(Step.FAILED, failure)
        else:
            self._go(Step.CREDITING if self.step is Step.CHARGING else Step.DEBITING, now, retry)

    def _applied(self, now: datetime, retry: Backoff) -> None:
        raise NotImplementedError

    def _go(self, step: Step, now: datetime, retry: Backoff) -> None:
        self.step, self.attempts = step, 1
        self._send()
        self.wake_at = now + retry.delay(1)

    def _finish(self, step: Step, failure: str | None) -> None:
        self.step, self.failure, self.wake_at = step, failure, None

    def _send(self) -> None:
        if self.step in _TRANSFER_STEPS:
            self.events.append(self._transfer())
            return
        kind = _LEDGER_STEPS[self.step]
        self.events.append(
            LedgerCommandSent(
                saga_id=self.saga_id,
                kind=kind,
                transaction_id=self.transaction_id(kind),
                franchise_id=self.franchise_id,
                amount=self._ledger_amount(kind),
                membership_id=self.payer if kind in (LedgerKind.RECHARGE, LedgerKind.PAY, LedgerKind.REFUND) else None,
                bank_transfer_id=self.transfer_id if kind in (LedgerKind.CREDIT, LedgerKind.PAYABLE) else None,
            )
        )

    def _ledger_amount(self, kind: LedgerKind) -> int:
        return self.amount

    def _transfer(self) -> FirmBankingRequested:
        raise NotImplementedError


@dataclass
class PaymentSaga(_Saga):
    recharge: int = 0
    recharge_done: bool = False

    @classmethod
    def start(
        cls, payment: Payment, recharge: int, corporate: BankAccount, now: datetime, retry: Backoff
    ) -> PaymentSaga:
        """The saga of a payment just recorded: WALLET recharges the shortfall first, if there is one; BANK
        charges the payer's linked account."""
        if payment.method is PaymentMethod.BANK and recharge:
            raise ValueError("a BANK payment recharges no wallet")
        saga = cls(
            saga_id=payment.payment_id,
            method=payment.method,
            payer=payment.payer,
            franchise_id=payment.franchise_id,
            amount=payment.price,
            corporate_account=corporate,
            step=Step.RECHARGING,
            wake_at=None,
            payer_account=payment.payer_account,
            recharge=recharge,
        )
        first = Step.CHARGING if payment.method is PaymentMethod.BANK else Step.PAYING
        saga._go(Step.RECHARGING if recharge else first, now, retry)
        return saga

    @property
    def transfer_id(self) -> str:
        return f"{self.saga_id}-charge"

    def ledger_transactions(self) -> list[str]:
        """The ledger transactions this saga may have caused, in the order it would send them."""
        if self.method is PaymentMethod.BANK:
            kinds = [LedgerKind.CREDIT]
        else:
            kinds = [LedgerKind.RECHARGE, LedgerKind.PAY] if self.recharge else [LedgerKind.PAY]
        return [self.transaction_id(kind) for kind in kinds]

    def _applied(self, now: datetime, retry: Backoff) -> None:
        if self.step is Step.RECHARGING:
            self.recharge_done = True
            self._go(Step.PAYING, now, retry)
        else:
            self._finish(Step.SUCCEEDED, None)

    def _ledger_amount(self, kind: LedgerKind) -> int:
        return self.recharge if kind is LedgerKind.RECHARGE else self.amount

    def _transfer(self) -> FirmBankingRequested:
        assert self.payer_account is not None
        return FirmBankingRequested(
            self.saga_id, self.transfer_id, self.payer_account, self.corporate_account, self.amount
        )


@dataclass
class RefundSaga(_Saga):
    payment_id: str = ""

    @classmethod
    def start(
        cls, payment: Payment, refund: Refund, corporate: BankAccount, now: datetime, retry: Backoff
    ) -> RefundSaga:
        """The saga of a refund just recorded: WALLET gives it back to the wallet; BANK pays the payer's linked
        account back from the corporate account first, then debits the franchise's payable."""
        saga = cls(
            saga_id=refund.refund_id,
            method=payment.method,
            payer=payment.payer,
            franchise_id=payment.franchise_id,
            amount=refund.amount,
            corporate_account=corporate,
            step=Step.REFUNDING,
            wake_at=None,
            payer_account=payment.payer_account,
            payment_id=payment.payment_id,
        )
        saga._go(Step.PAYING_BACK if payment.method is PaymentMethod.BANK else Step.REFUNDING, now, retry)
        return saga

    @property
    def transfer_id(self) -> str:
        return f"{self.saga_id}-refund"

    def _applied(self, now: datetime, retry: Backoff) -> None:
        self._finish(Step.SUCCEEDED, None)

    def _transfer(self) -> FirmBankingRequested:
        assert self.payer_account is not None
        return FirmBankingRequested(
            self.saga_id, self.transfer_id, self.corporate_account, self.payer_account, self.amount
        )


Saga = PaymentSaga | RefundSaga
