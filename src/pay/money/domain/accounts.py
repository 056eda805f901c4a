"""Franchises' payables and the platform's revenue: money's accounts besides wallets (SPEC "Accounts inside
money", decision 22).

Each is the sum of its journal: a ledger transaction appends one entry per account it moves, in the
transaction that moves the wallets with it, and keeps no folded balance beside. So payments into one
franchise's payable never wait for each other, and no stored balance can drift from its journal. A payable
may go below zero through a refund or a fee taken after its payments were settled (the franchise then owes
it, and its next settlement deducts it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AccountKind(StrEnum):
    PAYABLE = "PAYABLE"
    REVENUE = "REVENUE"


@dataclass(frozen=True)
class Entry:
    """`amount` won into (> 0) or out of (< 0) an account; a payable's entries name its franchise."""

    kind: AccountKind
    franchise_id: str | None
    amount: int


def into_payable(franchise_id: str, amount: int) -> Entry:
    return Entry(AccountKind.PAYABLE, franchise_id, amount)


def out_of_payable(franchise_id: str, amount: int) -> Entry:
    return Entry(AccountKind.PAYABLE, franchise_id, -amount)


@dataclass(frozen=True)
class Payable:
    """A franchise's payable as it stands: what the platform owes it."""

    franchise_id: str
    balance: int


def settle(franchise_id: str, fee: int, payout: int) -> list[Entry]:
    """Move `fee` to revenue and take out `payout`, which the bank has already paid the franchise (decision 26).

    Never refused for the balance: payment's claim fixed the payout, and a refund of a payment settled earlier
    that succeeded since was taken from the payable but is not in the payout; the payable then goes below zero
    by that refund, which the franchise owes and its next settlement deducts."""
    if fee < 0 or payout < 0 or fee + payout == 0:
        raise ValueError(f"a settlement moves a fee, a payout or both, not {fee} and {payout}")
    entries = [out_of_payable(franchise_id, fee + payout)]
    if fee:
        entries.append(Entry(AccountKind.REVENUE, None, fee))
    return entries
