"""The read model of money per region: each member's balance and address, as the events told them.

Events may come twice and in any order. Each rule keeps only what is newer than what it has: a wallet's
balance by the wallet's version, a member's address by the time membership changed it. Applying the same
events in any order therefore gives the same members, and a region's money is the sum over the members
living there, so a member who moves takes its balance along.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True)
class MemberMoney:
    """`address` is None until membership's registration is heard: such a member counts in no region yet."""

    membership_id: str
    address: str | None = None
    address_as_of: datetime | None = None
    balance: int = 0
    wallet_version: int = 0


@dataclass(frozen=True)
class WalletChange:
    membership_id: str
    balance: int
    version: int
    occurred_at: datetime


@dataclass(frozen=True)
class AddressChange:
    """A registration or a move: the member lives at `address` from `as_of` on."""

    membership_id: str
    address: str
    as_of: datetime

    @property
    def occurred_at(self) -> datetime:
        return self.as_of


MoneyEvent = WalletChange | AddressChange


@dataclass(frozen=True)
class RegionMoney:
    address: str
    money_sum: int
    member_count: int


def wallet_changed(member: MemberMoney | None, membership_id: str, balance: int, version: int) -> MemberMoney | None:
    """The member with the wallet's new balance; None when the change is not newer than what is known."""
    member = member or MemberMoney(membership_id)
    if version <= member.wallet_version:
        return None
    return replace(member, balance=balance, wallet_version=version)


def address_set(member: MemberMoney | None, membership_id: str, address: str, as_of: datetime) -> MemberMoney | None:
    """The member living at `address` since `as_of` (a registration or a move); None when a later address is
    known already."""
    member = member or MemberMoney(membership_id)
    if member.address_as_of is not None and as_of <= member.address_as_of:
        return None
    return replace(member, address=address, address_as_of=as_of)


def region_money(members: Iterable[MemberMoney], address: str) -> RegionMoney:
    """What the members living at `address` hold; an address no one lives at holds nothing."""
    living_there = [member for member in members if member.address == address]
    return RegionMoney(address, sum(member.balance for member in living_there), len(living_there))


def apply(member: MemberMoney | None, event: MoneyEvent) -> MemberMoney | None:
    """The member after the event, or None when the event tells nothing newer."""
    match event:
        case WalletChange():
            return wallet_changed(member, event.membership_id, event.balance, event.version)
        case AddressChange():
            return address_set(member, event.membership_id, event.address, event.as_of)


def fold(events: Iterable[MoneyEvent], known: Mapping[str, MemberMoney] | None = None) -> dict[str, MemberMoney]:
    """The `known` members and every member the events name, as the events leave them, whatever their order."""
    members = dict(known or {})
    for event in events:
        updated = apply(members.get(event.membership_id), event)
        if updated is not None:
            members[event.membership_id] = updated
    return members


@dataclass(frozen=True)
class Difference:
    membership_id: str
    live: MemberMoney | None
    rebuilt: MemberMoney | None


def differences(live: Mapping[str, MemberMoney], rebuilt: Mapping[str, MemberMoney]) -> list[Difference]:
    """Where the live model disagrees with one rebuilt from the events up to some point, or lags behind it.

    The live model may have heard events after that point: a newer wallet version or address is no
    difference, an older one or another value for the same version or time is.
    """
    found = []
    for membership_id, replayed in rebuilt.items():
        current = live.get(membership_id)
        if current is None or not _wallet_agrees(current, replayed) or not _address_agrees(current, replayed):
            found.append(Difference(membership_id, current, replayed))
    return sorted(found, key=lambda difference: difference.membership_id)


def _wallet_agrees(live: MemberMoney, rebuilt: MemberMoney) -> bool:
    if live.wallet_version != rebuilt.wallet_version:
        return live.wallet_version > rebuilt.wallet_version
    return live.balance == rebuilt.balance


def _address_agrees(live: MemberMoney, rebuilt: MemberMoney) -> bool:
    if rebuilt.address_as_of is None:
        return True
    if live.address_as_of is None or live.address_as_of < rebuilt.address_as_of:
        return False
    return live.address_as_of > rebuilt.address_as_of or live.address == rebuilt.address


@dataclass(frozen=True)
class ProjectionStatus:
    """`lag_seconds`: how long after it happened the latest event applied was applied."""

    events_applied: int
    last_event_at: datetime | None
    lag_seconds: float
