"""A remittance: money a member sends to another member's wallet or to any bank account, and its rules."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, tzinfo
from enum import StrEnum

# A shortfall is recharged in whole steps of this many won (SPEC "Remittance").
RECHARGE_STEP = 10_000


class RemittanceType(StrEnum):
    MEMBERSHIP = "MEMBERSHIP"
    BANK = "BANK"


class RemittanceStatus(StrEnum):
    REQUESTED = "REQUESTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class RemittanceNotFound(Exception):
    pass


class SenderNotFound(Exception):
    pass


class SenderInvalid(Exception):
    pass


class ReceiverNotFound(Exception):
    pass


class ReceiverInvalid(Exception):
    pass


class SendingToOneself(Exception):
    pass


class BankAccountUnknown(Exception):
    """The bank knows no such account, or will not take money into it."""


class DailyLimitExceeded(Exception):
    pass


@dataclass(frozen=True)
class BankTarget:
    bank_name: str
    account_number: str


@dataclass(frozen=True)
class RemittanceEnded:
    """The remittance ended (its `status` and `reason` tell how): sender and receiver are told (notifications)."""

    remittance: Remittance


@dataclass
class Remittance:
    """`events` is a list of what it records: how it ended."""

    remittance_id: str
    from_membership_id: str
    remittance_type: RemittanceType
    amount: int
    status: RemittanceStatus
    business_day: date
    created_at: datetime
    updated_at: datetime
    to_membership_id: str | None = None
    to_bank: BankTarget | None = None
    recharged_amount: int = 0
    reason: str | None = None
    events: list[RemittanceEnded] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def to_member(
        cls, remittance_id: str, sender: str, receiver: str, amount: int, business_day: date, now: datetime
    ) -> Remittance:
        if sender == receiver:
            raise SendingToOneself(sender)
        return cls(
            remittance_id=remittance_id,
            from_membership_id=sender,
            remittance_type=RemittanceType.MEMBERSHIP,
            amount=amount,
            status=RemittanceStatus.REQUESTED,
            business_day=business_day,
            created_at=now,
            updated_at=now,
            to_membership_id=receiver,
        )

    @classmethod
    def to_bank_account(
        cls, remittance_id: str, sender: str, target: BankTarget, amount: int, business_day: date, now: datetime
    ) -> Remittance:
        return cls(
            remittance_id=remittance_id,
            from_membership_id=sender,
            remittance_type=RemittanceType.BANK,
            amount=amount,
            status=RemittanceStatus.REQUESTED,
            business_day=business_day,
            created_at=now,
            updated_at=now,
            to_bank=target,
        )

    @property
    def is_final(self) -> bool:
        return self.status is not RemittanceStatus.REQUESTED

    def involves(self, membership_id: str) -> bool:
        """Whether the member sent it or receives it: only they may read it (besides admins and services)."""
        return membership_id in (self.from_membership_id, self.to_membership_id)

    def end(self, failure: str | None, recharged: int, now: datetime) -> None:
        """SUCCEEDED without a failure, FAILED with one; `recharged` is what was charged into the wallet for it."""
        if self.is_final:
            raise ValueError(f"remittance {self.remittance_id} already ended {self.status}")
        self.status = RemittanceStatus.SUCCEEDED if failure is None else RemittanceStatus.FAILED
        self.reason, self.recharged_amount, self.updated_at = failure, recharged, now
        self.events.append(RemittanceEnded(replace(self, events=[])))


def business_day(now: datetime, timezone: tzinfo) -> date:
    """The day a moment belongs to for the daily limit: the calendar day where the business is."""
    return now.astimezone(timezone).date()


def recharge_for(amount: int, available: int) -> int:
    """What to charge into the wallet before sending `amount` from `available`: nothing if it suffices,
    else the shortfall rounded up to the next whole `RECHARGE_STEP`."""
    shortfall = amount - available
    if shortfall <= 0:
        return 0
    return -(-shortfall // RECHARGE_STEP) * RECHARGE_STEP


def ensure_within_daily_limit(sent_today: int, amount: int, limit: int) -> None:
    """A sender's remittances of one business day may not add up to more than `limit` won."""
    if sent_today + amount > limit:
        raise DailyLimitExceeded(f"{sent_today} won sent today; {amount} more would pass the limit of {limit} won")
