"""What the remittance use cases need from the outside world."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self, TypeVar

from pay.remittance.domain.model import BankTarget, Remittance
from pay.remittance.domain.saga import RemittanceSaga


class DownstreamUnavailable(Exception):
    """Membership, banking, the bank or money did not answer: nothing was recorded."""


class Members(Protocol):
    async def ensure_valid(self, membership_id: str, *, missing: type[Exception], invalid: type[Exception]) -> None:
        """Raises `missing` for a member membership does not know, `invalid` for one it made invalid."""


class BankAccounts(Protocol):
    async def ensure_usable(self, target: BankTarget) -> None:
        """Raises BankAccountUnknown unless the bank confirms the account can take money."""


class Wallets(Protocol):
    async def available(self, membership_id: str) -> int:
        """What the member's wallet can spend now; raises SenderNotFound when it has no wallet."""


class RemittanceRepository(Protocol):
    async def add(self, remittance: Remittance) -> None: ...

    async def get(self, remittance_id: str, *, for_update: bool = False) -> Remittance | None: ...

    async def save(self, remittance: Remittance) -> None: ...

    async def of_member(self, membership_id: str, before: int | None, limit: int) -> "HistoryPage":
        """Sent and received, newest first, before the cursor."""


class SagaRepository(Protocol):
    async def add(self, saga: RemittanceSaga) -> None: ...

    async def lock(self, saga_id: str, *, skip_locked: bool = False) -> RemittanceSaga | None: ...

    async def get(self, saga_id: str) -> RemittanceSaga | None:
        """To read only: no lock."""

    async def save(self, saga: RemittanceSaga) -> None: ...

    async def count_unfinished(self) -> int: ...


class DailyTotals(Protocol):
    async def add_within(self, membership_id: str, day: date, amount: int, limit: int) -> bool:
        """Add `amount` to the member's total of `day` unless that would pass `limit`: whether it was added.
        Concurrent calls for one member and day are serialised, so they can never pass the limit together."""

    async def give_back(self, membership_id: str, day: date, amount: int) -> None:
        """A remittance of that day failed: its amount no longer counts."""


class Inbox(Protocol):
    async def first_delivery(self, consumer: str, message_id: str) -> bool: ...


class RequestKey(Protocol):
    """A client's Idempotency-Key, as the inbound adapter passed it on: opaque here."""


class PriorAnswer(Protocol):
    """What an earlier request with the same key was answered: opaque here, the inbound adapter replays it."""


class UnitOfWork(Protocol):
    """One transaction. Its commit also sends the commands the sagas it handled asked for."""

    @property
    def remittances(self) -> RemittanceRepository: ...

    @property
    def sagas(self) -> SagaRepository: ...

    @property
    def daily_totals(self) -> DailyTotals: ...

    @property
    def inbox(self) -> Inbox: ...

    async def earlier_answer(self, key: RequestKey) -> PriorAnswer | None: ...

    async def keep_answer(self, key: RequestKey, outcome: object) -> None: ...

    async def commit(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


T = TypeVar("T")


class EndWatch(Protocol):
    """Wakes a caller waiting in this process for a remittance to end (`pay.platform.watch.EndWatch`)."""

    def ended(self, key: str) -> None: ...

    async def until_ended(
        self, key: str, read: Callable[[], Awaitable[T]], ended: Callable[[T], bool], last_seen: T, seconds: float
    ) -> T:
        """What `read` gives once it has `ended`, or as it stands after `seconds`; a failure to read
        answers what was last seen."""


class Clock(Protocol):
    def __call__(self) -> datetime: ...


@dataclass(frozen=True)
class HistoryPage:
    remittances: Sequence[Remittance]
    next_cursor: int | None
