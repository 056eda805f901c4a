"""What members are told and when operators are alerted: plain values and rules, no I/O.

A member's feed is a sequence: every entry has the next number of its recipient (`seq`, 1, 2, 3 …), given in the
transaction that stores it, so a reader that has seen up to `seq` n and asks for what follows n misses nothing
and gets nothing twice. That number is the stream's event id (Last-Event-ID).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


class OwnerUnknown(Exception):
    """A franchise's event came before the franchise's registration: its owner is not known yet."""


class TicketRefused(Exception):
    """A ticket that was never issued, has expired, or was used already."""


class NotYours(Exception):
    """A member asked for another member's feed or stream."""


@dataclass(frozen=True)
class Notice:
    """Something to tell a member: `kind` names it (`recharge.succeeded` …), `text` says it in words, `data` holds
    the facts (ids, amounts, reasons). `recipient` is a member; for a franchise's event it is None and
    `franchise_id` names the franchise, whose owner is told."""

    kind: str
    text: str
    data: Mapping[str, Any]
    occurred_at: datetime
    recipient: str | None = None
    franchise_id: str | None = None

    def to(self, recipient: str) -> Notice:
        return Notice(self.kind, self.text, self.data, self.occurred_at, recipient, self.franchise_id)


@dataclass(frozen=True)
class Entry:
    """A notice as the recipient's feed keeps it, numbered."""

    recipient: str
    seq: int
    kind: str
    text: str
    data: Mapping[str, Any]
    occurred_at: datetime
    created_at: datetime


@dataclass(frozen=True)
class Told:
    """What one event makes known: the members' notices, and the operators' alert if it is a failure they watch."""

    notices: tuple[Notice, ...]
    alert: str | None = None


@dataclass(frozen=True)
class FranchiseOwner:
    franchise_id: str
    owner_membership_id: str
    as_of: datetime


def newer_owner(known: FranchiseOwner | None, heard: FranchiseOwner) -> bool:
    """Franchise events may come late or twice: only a later one changes who owns it."""
    return known is None or heard.as_of > known.as_of


def numbered(notices: list[Notice], last_seqs: Mapping[str, int], now: datetime) -> list[Entry]:
    """The notices as entries, numbered after each recipient's `last_seqs`, in the notices' order."""
    next_seq = dict(last_seqs)
    entries = []
    for notice in notices:
        assert notice.recipient is not None, "a franchise's notice is addressed to its owner first"
        next_seq[notice.recipient] = next_seq.get(notice.recipient, 0) + 1
        entries.append(
            Entry(
                notice.recipient,
                next_seq[notice.recipient],
                notice.kind,
                notice.text,
                notice.data,
                notice.occurred_at,
                now,
            )
        )
    return entries


@dataclass(frozen=True)
class Ticket:
    """Lets a browser's EventSource, which cannot send an Authorization header, open its member's stream once."""

    subject: str
    role: str
    expires_at: datetime

    @classmethod
    def issue(cls, subject: str, role: str, now: datetime, lifetime: timedelta) -> Ticket:
        return cls(subject, role, now + lifetime)


class AlertWindow:
    """At most `at_most` alerts in each window of `seconds` (a minute); the others of that window are only counted,
    and said in one summary when it is over, so that an outage does not flood the operators' channel."""

    def __init__(self, at_most: int, seconds: float = 60.0) -> None:
        self._at_most = at_most
        self.seconds = seconds
        self._started: float | None = None
        self._sent = 0
        self._held_back = 0

    def admit(self, now: float) -> bool:
        """Whether an alert arriving at `now` (seconds) is posted; if not, it counts toward the summary."""
        if self._started is None or now - self._started >= self.seconds:
            # A summary still owed is taken by `close` first: the caller asks it before each alert.
            self._started, self._sent = now, 0
        if self._sent < self._at_most:
            self._sent += 1
            return True
        self._held_back += 1
        return False

    def close(self, now: float) -> int:
        """How many alerts were held back in the window that is over at `now` (0 while it lasts), once."""
        if self._started is None or now - self._started < self.seconds:
            return 0
        held_back, self._held_back, self._started = self._held_back, 0, None
        return held_back

    def closes_at(self) -> float | None:
        """When the current window ends, if it held alerts back: its summary is due then."""
        return self._started + self.seconds if self._started is not None and self._held_back else None


def summary(held_back: int, seconds: float) -> str:
    within = "the last minute" if seconds == 60 else f"the last {seconds:g} s"
    return f"…and {held_back} more failures in {within} (not posted one by one)"
