"""What the notification use cases need from the outside world."""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from pay.notification.domain.model import Entry, FranchiseOwner, Ticket


class FeedRepository(Protocol):
    async def last_seqs(self, recipients: Collection[str]) -> Mapping[str, int]:
        """Each recipient's last entry number, locked until the transaction ends (0 for one with no entry yet)."""

    async def add(self, entries: Sequence[Entry], forget_before: datetime) -> None:
        """Store the entries, wake the recipients' open streams once the transaction commits, and forget their
        entries created before `forget_before`."""

    async def after(self, recipient: str, seq: int, limit: int) -> list[Entry]:
        """The recipient's entries numbered after `seq`, oldest first."""

    async def before(self, recipient: str, seq: int | None, limit: int) -> list[Entry]:
        """The recipient's entries numbered before `seq` (all when None), newest first."""

    async def last_seq(self, recipient: str) -> int: ...


class FranchiseRepository(Protocol):
    async def owners(self, franchise_ids: Collection[str]) -> Mapping[str, FranchiseOwner]: ...

    async def keep(self, owner: FranchiseOwner) -> None:
        """Keep it unless a later one is known."""


class TicketRepository(Protocol):
    async def add(self, digest: str, ticket: Ticket, forget_expired_before: datetime) -> None: ...

    async def use(self, digest: str, now: datetime) -> Ticket | None:
        """The ticket, marked used, if it was issued, has not expired and was not used; else None."""


class Inbox(Protocol):
    async def first_deliveries(self, consumer: str, message_ids: Sequence[str]) -> set[str]: ...


class UnitOfWork(Protocol):
    """One transaction; nothing is kept unless `commit()` is called."""

    @property
    def feed(self) -> FeedRepository: ...

    @property
    def franchises(self) -> FranchiseRepository: ...

    @property
    def tickets(self) -> TicketRepository: ...

    @property
    def inbox(self) -> Inbox: ...

    async def commit(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class Announcer(Protocol):
    def recorded(self, entries: Sequence[Entry]) -> None:
        """Entries whose transaction has just committed: this process's open streams may send them as they are."""


class Alerts(Protocol):
    def tell(self, text: str) -> None:
        """Post it to the operators' channel, if one is set, without waiting for it."""


class Clock(Protocol):
    def __call__(self) -> datetime: ...
