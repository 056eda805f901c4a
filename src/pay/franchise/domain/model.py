"""A franchise: a merchant owned by a corporate member, where members pay, and the rules of changing it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum

# SPEC "Franchise": a decimal percent, 0 to 20, with at most 2 decimals.
MAX_FEE_RATE = Decimal(20)
_HUNDREDTH = Decimal("0.01")


class FranchiseNotFound(Exception):
    pass


class OwnerNotFound(Exception):
    pass


class OwnerInvalid(Exception):
    pass


class NotACorporateMember(Exception):
    """Only a corporate member (a merchant owner) may own a franchise."""


class BankAccountUnknown(Exception):
    """The bank knows no such account, or will not take money into it."""


class FeeRateOutOfBounds(ValueError):
    pass


class FeeRateAdminOnly(Exception):
    """The fee rate is what the platform keeps of every payment: only an admin changes it."""


class ValidityAdminOnly(Exception):
    """Whether a franchise may take payments is the platform's call, as a member's validity is."""


def ensure_fee_rate(rate: Decimal) -> Decimal:
    """The rate, if it is a finite percent from 0 to 20 with at most 2 decimals."""
    if not rate.is_finite() or not 0 <= rate <= MAX_FEE_RATE or rate != rate.quantize(_HUNDREDTH):
        raise FeeRateOutOfBounds(f"a fee rate is 0 to {MAX_FEE_RATE} percent with at most 2 decimals, not {rate}")
    return rate


@dataclass(frozen=True)
class BankAccount:
    bank_name: str
    account_number: str


@dataclass(frozen=True)
class Owner:
    """A member as membership describes it, asked at the time of registering."""

    membership_id: str
    is_valid: bool
    is_corp: bool

    def ensure_may_own_franchise(self) -> None:
        if not self.is_valid:
            raise OwnerInvalid(self.membership_id)
        if not self.is_corp:
            raise NotACorporateMember(self.membership_id)


class Unchanged(Enum):
    UNCHANGED = "unchanged"


# A change that leaves a field alone, where None means something (no webhook).
UNCHANGED = Unchanged.UNCHANGED


@dataclass(frozen=True)
class FranchiseChanges:
    """What a modification asks for; None (UNCHANGED for the webhook) leaves a field as it is."""

    name: str | None = None
    contact: str | None = None
    settlement_account: BankAccount | None = None
    fee_rate: Decimal | None = None
    webhook_url: str | Unchanged | None = UNCHANGED
    is_valid: bool | None = None


@dataclass(frozen=True)
class FranchiseRegistered:
    franchise: Franchise


@dataclass(frozen=True)
class FranchiseModified:
    franchise: Franchise


FranchiseEvent = FranchiseRegistered | FranchiseModified


@dataclass
class Franchise:
    """`fee_rate` is the rate in force since `fee_rate_since`; the rates before it stay as they were recorded."""

    franchise_id: str
    owner_membership_id: str
    name: str
    contact: str
    settlement_account: BankAccount
    fee_rate: Decimal
    fee_rate_since: datetime
    webhook_url: str | None
    is_valid: bool
    created_at: datetime
    updated_at: datetime
    events: list[FranchiseEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def register(
        cls,
        franchise_id: str,
        owner_membership_id: str,
        name: str,
        contact: str,
        settlement_account: BankAccount,
        fee_rate: Decimal,
        webhook_url: str | None,
        now: datetime,
    ) -> Franchise:
        franchise = cls(
            franchise_id,
            owner_membership_id,
            name,
            contact,
            settlement_account,
            ensure_fee_rate(fee_rate),
            now,
            webhook_url,
            True,
            now,
            now,
        )
        franchise.events.append(FranchiseRegistered(franchise.snapshot()))
        return franchise

    def owned_by(self, membership_id: str) -> bool:
        return self.owner_membership_id == membership_id

    def new_settlement_account(self, bank_name: str | None, account_number: str | None) -> BankAccount | None:
        """The account a modification names, the fields it leaves out taken from the current one; None when it
        names the current account or none at all."""
        wanted = BankAccount(
            bank_name if bank_name is not None else self.settlement_account.bank_name,
            account_number if account_number is not None else self.settlement_account.account_number,
        )
        return None if wanted == self.settlement_account else wanted

    def modify(self, changes: FranchiseChanges, now: datetime, *, privileged: bool) -> None:
        """Apply what differs; the fee rate and validity only for an admin or a service. A new fee rate takes
        effect now, for what happens from now on."""
        new_rate = changes.fee_rate is not None and changes.fee_rate != self.fee_rate
        if new_rate and not privileged:
            raise FeeRateAdminOnly(self.franchise_id)
        if changes.is_valid is not None and changes.is_valid != self.is_valid and not privileged:
            raise ValidityAdminOnly(self.franchise_id)
        before = self.snapshot()
        if changes.name is not None:
            self.name = changes.name
        if changes.contact is not None:
            self.contact = changes.contact
        if changes.settlement_account is not None:
            self.settlement_account = changes.settlement_account
        if changes.webhook_url is not UNCHANGED:
            self.webhook_url = changes.webhook_url
        if changes.is_valid is not None:
            self.is_valid = changes.is_valid
        if new_rate:
            assert changes.fee_rate is not None
            self.fee_rate, self.fee_rate_since = ensure_fee_rate(changes.fee_rate), now
        if self.snapshot() != before:
            self.updated_at = now
            self.events.append(FranchiseModified(self.snapshot()))

    def snapshot(self) -> Franchise:
        """A copy of the franchise as it is now, without its events."""
        return Franchise(
            self.franchise_id,
            self.owner_membership_id,
            self.name,
            self.contact,
            self.settlement_account,
            self.fee_rate,
            self.fee_rate_since,
            self.webhook_url,
            self.is_valid,
            self.created_at,
            self.updated_at,
        )
