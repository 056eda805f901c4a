"""Linked bank accounts and firm banking requests: the rules, with no I/O.

A firm banking request asks the external bank to move money between two accounts under the
platform's own transfer id, which the bank de-duplicates on. Its states:

    REQUESTED ── the bank reports the transfer SUCCEEDED ─────────────────────► SUCCEEDED
        │
        ├──── the bank reports the transfer FAILED (its reason) ──────────────► FAILED
        │
        └──── the bank says it never received the transfer, and the send ─────► FAILED
              window plus its grace was over when it was asked, so it never    ("not-received-by-bank")
              will

A request is stored as REQUESTED before the bank is called. While the bank's answer is unknown
(a timeout, a 5xx, an open circuit, a bank that is down) the request stays REQUESTED: the bank may
have moved the money, so only the bank may settle it. Within the send window the transfer may be
sent again under the same transfer id (the bank runs it at most once); after the window nothing is
sent any more, and once the grace has passed too, the bank's "never received" is final. SUCCEEDED
and FAILED are final: a later answer changes nothing, and a contradicting one is refused.

A pending request is a saga: `wake_at` is when it is next checked at the bank. Each step at the
bank is held for the longest it may take (`Deadlines.lease`), so that nobody else takes the request
meanwhile and, should the step never report back, the request is checked once the hold is over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

NOT_RECEIVED_BY_BANK = "not-received-by-bank"


class MemberNotFound(Exception):
    pass


class MemberInvalid(Exception):
    """The member exists but is not valid, so it may not link an account."""


class BankAccountNotFound(Exception):
    """The bank knows no such account."""


class BankAccountInvalid(Exception):
    """The bank knows the account but says it cannot be used."""


class AccountHolderMismatch(Exception):
    """The account belongs to someone other than the member."""


class AccountAlreadyLinked(Exception):
    pass


class MemberAlreadyLinked(Exception):
    """A member links one account; `GET /banking/account/{membershipId}` answers that one."""


class LinkedAccountNotFound(Exception):
    pass


class SameAccount(Exception):
    pass


class FirmbankingRequestNotFound(Exception):
    pass


class TransferIdReused(Exception):
    """A transfer id already names another movement of money (other accounts or amount)."""


class IllegalTransition(Exception):
    """A settled request was told a different outcome: the bank contradicted itself."""


@dataclass(frozen=True)
class AccountRef:
    bank_name: str
    bank_account_number: str

    def __str__(self) -> str:
        return f"{self.bank_name}/{self.bank_account_number}"


@dataclass(frozen=True)
class MemberStanding:
    membership_id: str
    is_valid: bool
    name: str


@dataclass(frozen=True)
class AccountStanding:
    """What the bank says about an account it knows."""

    account: AccountRef
    valid: bool
    holder_name: str

    def ensure_usable(self) -> None:
        if not self.valid:
            raise BankAccountInvalid(str(self.account))

    def ensure_held_by(self, member: MemberStanding) -> None:
        """The bank's holder name must be the member's name, as firm banking's holder check (예금주 확인) does:
        otherwise anyone could link, and then charge, somebody else's account."""
        if _comparable(self.holder_name) != _comparable(member.name):
            raise AccountHolderMismatch(str(self.account))


def _comparable(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass
class RegisteredBankAccount:
    """A member's account at the bank. `fintech_use_num` is the number the bank issued for it at link time, which
    names the account in later calls to the bank; a link made before the bank issued them has none until its
    first use asks for one."""

    registered_bank_account_id: str
    membership_id: str
    account: AccountRef
    linked_status_is_valid: bool
    created_at: datetime
    fintech_use_num: str | None = None

    @classmethod
    def link(
        cls,
        registered_bank_account_id: str,
        member: MemberStanding,
        account: AccountStanding,
        fintech_use_num: str,
        now: datetime,
    ) -> RegisteredBankAccount:
        """Only a valid member may link, and only an account the bank confirmed usable."""
        if not member.is_valid:
            raise MemberInvalid(member.membership_id)
        account.ensure_usable()
        account.ensure_held_by(member)
        return cls(registered_bank_account_id, member.membership_id, account.account, True, now, fintech_use_num)


def ensure_not_linked(of_member: RegisteredBankAccount | None, of_account: RegisteredBankAccount | None) -> None:
    """An account is linked once, to one member; a member links one account."""
    if of_account is not None:
        raise AccountAlreadyLinked(str(of_account.account))
    if of_member is not None:
        raise MemberAlreadyLinked(of_member.membership_id)


@dataclass(frozen=True)
class TransferOrder:
    """Move `amount` won from `source` to `destination` at the bank, once, under `transfer_id`.

    A source that is a linked account goes to the bank as its fintech-use number (`source_fintech_use_num`).
    That is how the order is sent, not what it moves: two orders that differ only in it are the same order.
    """

    transfer_id: str
    source: AccountRef
    destination: AccountRef
    amount: int
    source_fintech_use_num: str | None = field(default=None, compare=False)


# What the bank can say about a transfer.


@dataclass(frozen=True)
class Settled:
    """The bank's own outcome: it moved the money, or it surely did not (with its reason)."""

    succeeded: bool
    reason: str | None = None
    external_transaction_id: str | None = None


@dataclass(frozen=True)
class NotReceived:
    """The bank answered, when asked at `asked_at`, that it has no transfer with this id."""

    asked_at: datetime


@dataclass(frozen=True)
class Unknown:
    """The bank did not answer usefully; it may or may not have moved the money."""

    detail: str


BankAnswer = Settled | NotReceived | Unknown


class Backoff(Protocol):
    def delay(self, attempt: int) -> timedelta:
        """How long to wait after the `attempt`-th try (1 for the first) that left the request pending."""


@dataclass(frozen=True)
class Deadlines:
    """The time rules of a pending request.

    - `send_window`: after the request was created, the transfer may be sent to the bank this long.
    - `not_received_grace`: after the window, how long a transfer sent just before its end might
      still reach the bank; only then is "never received" final.
    - `lease`: the longest one step at the bank may take (a question, then the transfer with its
      retries); a request is held this long by whoever takes a step with it.
    - `recheck`: the pause before the next check of a request that is still pending.
    """

    send_window: timedelta
    not_received_grace: timedelta
    lease: timedelta
    recheck: Backoff


class FirmbankingStatus(StrEnum):
    REQUESTED = "REQUESTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class TransferSucceeded:
    firmbanking_request_id: str
    transfer_id: str
    money_amount: int
    correlation_id: str | None


@dataclass(frozen=True)
class TransferFailed:
    firmbanking_request_id: str
    transfer_id: str
    reason: str
    correlation_id: str | None


FirmbankingEvent = TransferSucceeded | TransferFailed


@dataclass
class FirmbankingRequest:
    """A transfer at the bank and what is known about it; see the module's docstring for the states.

    `correlation_id` is the requesting saga's, copied onto the answer. While the request is pending,
    `wake_at` is when it is next checked at the bank and `checks` counts the checks that left it
    pending; once settled it wakes no more.
    """

    firmbanking_request_id: str
    order: TransferOrder
    status: FirmbankingStatus
    created_at: datetime
    updated_at: datetime
    wake_at: datetime | None
    checks: int = 0
    reason: str | None = None
    external_transaction_id: str | None = None
    correlation_id: str | None = None
    events: list[FirmbankingEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def open(
        cls,
        firmbanking_request_id: str,
        order: TransferOrder,
        now: datetime,
        deadlines: Deadlines,
        correlation_id: str | None = None,
    ) -> FirmbankingRequest:
        # The upper bound is the contracts' (`pay.contracts.types.MAX_AMOUNT`), enforced where orders come in.
        if order.amount < 1:
            raise ValueError(f"transfer {order.transfer_id} must move a positive amount, not {order.amount}")
        return cls(
            firmbanking_request_id,
            order,
            FirmbankingStatus.REQUESTED,
            created_at=now,
            updated_at=now,
            # Held for the requester's own attempt at the bank, which follows at once.
            wake_at=now + deadlines.lease,
            correlation_id=correlation_id,
        )

    @property
    def transfer_id(self) -> str:
        return self.order.transfer_id

    @property
    def is_settled(self) -> bool:
        return self.status is not FirmbankingStatus.REQUESTED

    def touches(self, account: AccountRef) -> bool:
        return account in (self.order.source, self.order.destination)

    def send_until(self, deadlines: Deadlines) -> datetime:
        return self.created_at + deadlines.send_window

    def may_send(self, now: datetime, deadlines: Deadlines) -> bool:
        return not self.is_settled and now < self.send_until(deadlines)

    def is_due(self, now: datetime) -> bool:
        return self.wake_at is not None and self.wake_at <= now

    def hold(self, now: datetime, deadlines: Deadlines) -> None:
        """Take a step at the bank with the request: nobody else takes it until the step is surely over, and if
        the step never reports back (a crash) the request is checked as soon as that time has passed."""
        self.wake_at = now + deadlines.lease

    def apply(self, answer: BankAnswer, now: datetime, deadlines: Deadlines) -> None:
        """Take in what the bank said about the transfer."""
        match answer:
            case Settled(succeeded=True):
                self._settle(FirmbankingStatus.SUCCEEDED, None, answer.external_transaction_id, now)
            case Settled(succeeded=False):
                reason = answer.reason or "refused-by-bank"
                self._settle(FirmbankingStatus.FAILED, reason, answer.external_transaction_id, now)
            case NotReceived() | Unknown() if self.is_settled:
                # A late look at a settled request: only the bank's outcome could contradict it.
                return
            case NotReceived() if answer.asked_at >= self.send_until(deadlines) + deadlines.not_received_grace:
                self._settle(FirmbankingStatus.FAILED, NOT_RECEIVED_BY_BANK, None, now)
            case NotReceived() | Unknown():
                self._postpone(now, deadlines)

    def answer_again(self, correlation_id: str | None) -> None:
        """A re-sent command for a settled request gets the outcome again; a pending one is answered on settling."""
        if self.is_settled:
            self.events.append(self._answer(correlation_id))

    def _settle(
        self, status: FirmbankingStatus, reason: str | None, external_transaction_id: str | None, now: datetime
    ) -> None:
        if self.is_settled:
            if (self.status, self.reason) != (status, reason):
                raise IllegalTransition(
                    f"request {self.firmbanking_request_id} is {self.status} ({self.reason}); told {status} ({reason})"
                )
            return
        self.status, self.reason, self.external_transaction_id = status, reason, external_transaction_id
        self.updated_at, self.wake_at = now, None
        self.events.append(self._answer(self.correlation_id))

    def _postpone(self, now: datetime, deadlines: Deadlines) -> None:
        self.checks += 1
        self.wake_at = now + deadlines.recheck.delay(self.checks)

    def _answer(self, correlation_id: str | None) -> FirmbankingEvent:
        if self.status is FirmbankingStatus.SUCCEEDED:
            return TransferSucceeded(self.firmbanking_request_id, self.transfer_id, self.order.amount, correlation_id)
        assert self.reason is not None, "a failed request always carries its reason"
        return TransferFailed(self.firmbanking_request_id, self.transfer_id, self.reason, correlation_id)
