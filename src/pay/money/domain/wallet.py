"""The wallet, event-sourced: its journal of events is the truth, its balance a fold over them.

Every change is a `WalletEvent` with the next version number; `Wallet.replay` rebuilds a wallet from
its journal and must give the balance that was stored alongside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class InsufficientBalance(Exception):
    pass


class BalanceLimitExceeded(Exception):
    """A credit would take the wallet past the most it may hold."""


class WalletNotFound(Exception):
    pass


class WalletAlreadyExists(Exception):
    pass


class HoldNotFound(Exception):
    pass


class WalletEventKind(StrEnum):
    OPENED = "OPENED"
    CREDITED = "CREDITED"
    DEBITED = "DEBITED"
    HELD = "HELD"
    HOLD_RELEASED = "HOLD_RELEASED"
    HOLD_CAPTURED = "HOLD_CAPTURED"


@dataclass(frozen=True)
class WalletEvent:
    membership_id: str
    version: int
    kind: WalletEventKind
    amount: int
    request_id: str
    occurred_at: datetime

    @property
    def available_change(self) -> int:
        """What the event did to the spendable balance: a withdrawal counts when its amount is set aside."""
        return self.amount * _EFFECT_ON_AVAILABLE[self.kind]


_EFFECT_ON_AVAILABLE = {
    WalletEventKind.OPENED: 0,
    WalletEventKind.CREDITED: 1,
    WalletEventKind.DEBITED: -1,
    WalletEventKind.HELD: -1,
    WalletEventKind.HOLD_RELEASED: 1,
    WalletEventKind.HOLD_CAPTURED: 0,
}

# What each event does to all the money in the wallet (`balance`, held part included): the sign its amount
# counts with when a ledger transaction is checked to balance against the accounts and the bank it moved.
EFFECT_ON_BALANCE = {
    WalletEventKind.OPENED: 0,
    WalletEventKind.CREDITED: 1,
    WalletEventKind.DEBITED: -1,
    WalletEventKind.HELD: 0,
    WalletEventKind.HOLD_RELEASED: 0,
    WalletEventKind.HOLD_CAPTURED: -1,
}


@dataclass
class Wallet:
    """`balance` is all the money in the wallet; `held` is the part set aside for a withdrawal under way.

    Only `available` (balance minus held) can be spent or held again, so no operation can take a
    wallet below zero.
    """

    membership_id: str
    balance: int = 0
    held: int = 0
    version: int = 0
    holds: dict[str, int] = field(default_factory=dict)
    changes: list[WalletEvent] = field(default_factory=list, repr=False, compare=False)

    @property
    def available(self) -> int:
        return self.balance - self.held

    @classmethod
    def open(cls, membership_id: str, now: datetime) -> Wallet:
        wallet = cls(membership_id)
        wallet._record(WalletEventKind.OPENED, 0, "", now)
        return wallet

    @classmethod
    def replay(cls, membership_id: str, events: Iterable[WalletEvent]) -> Wallet:
        wallet = cls(membership_id)
        for event in events:
            wallet._apply(event)
        return wallet

    def credit(self, amount: int, request_id: str, now: datetime, limit: int) -> None:
        self.ensure_can_take(amount, limit)
        self._record(WalletEventKind.CREDITED, amount, request_id, now)

    def debit(self, amount: int, request_id: str, now: datetime) -> None:
        self.ensure_can_spend(amount)
        self._record(WalletEventKind.DEBITED, amount, request_id, now)

    def ensure_can_take(self, amount: int, limit: int) -> None:
        _require_positive(amount)
        if self.balance + amount > limit:
            raise BalanceLimitExceeded(f"a wallet holds at most {limit} won")

    def ensure_can_spend(self, amount: int) -> None:
        _require_positive(amount)
        if amount > self.available:
            raise InsufficientBalance(f"available {self.available} won, needed {amount} won")

    def hold(self, amount: int, request_id: str, now: datetime) -> None:
        self.ensure_can_spend(amount)
        self._record(WalletEventKind.HELD, amount, request_id, now)

    def release_hold(self, request_id: str, now: datetime) -> None:
        self._record(WalletEventKind.HOLD_RELEASED, self.held_for(request_id), request_id, now)

    def capture_hold(self, request_id: str, now: datetime) -> None:
        self._record(WalletEventKind.HOLD_CAPTURED, self.held_for(request_id), request_id, now)

    def held_for(self, request_id: str) -> int:
        """The amount the hold `request_id` sets aside; raises HoldNotFound once it was captured or released."""
        if request_id not in self.holds:
            raise HoldNotFound(request_id)
        return self.holds[request_id]

    def _record(self, kind: WalletEventKind, amount: int, request_id: str, now: datetime) -> None:
        event = WalletEvent(self.membership_id, self.version + 1, kind, amount, request_id, now)
        self._apply(event)
        self.changes.append(event)

    def _apply(self, event: WalletEvent) -> None:
        self.balance += event.amount * EFFECT_ON_BALANCE[event.kind]
        match event.kind:
            case WalletEventKind.HELD:
                self.held += event.amount
                self.holds[event.request_id] = event.amount
            case WalletEventKind.HOLD_RELEASED | WalletEventKind.HOLD_CAPTURED:
                self.held -= self.holds.pop(event.request_id)
        self.version = event.version


def transfer(source: Wallet, target: Wallet, amount: int, request_id: str, now: datetime, limit: int) -> None:
    """Move money between two wallets: both change, or, when either cannot, neither does."""
    source.ensure_can_spend(amount)
    target.ensure_can_take(amount, limit)
    source.debit(amount, request_id, now)
    target.credit(amount, request_id, now, limit)


def _require_positive(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"an amount is a positive whole number of won, not {amount!r}")
