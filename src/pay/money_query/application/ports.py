"""What the money-query use cases need from the outside world."""

from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from pay.money_query.domain.projection import MemberMoney, MoneyEvent, ProjectionStatus, RegionMoney


class MemberRepository(Protocol):
    async def lock(self, membership_ids: Collection[str]) -> Mapping[str, MemberMoney]:
        """These members, locked until the transaction ends; one no event named yet holds nothing, lives nowhere."""

    async def save(self, members: Collection[MemberMoney]) -> None: ...

    async def region(self, address: str) -> RegionMoney: ...

    async def everyone(self) -> Mapping[str, MemberMoney]: ...

    async def keep_rebuilt(self, members: Iterable[MemberMoney]) -> None:
        """Replace the last rebuilt model with these members, beside the live one."""


class StatusRepository(Protocol):
    async def applied(self, events: int, latest_occurred_at: datetime, applied_at: datetime) -> ProjectionStatus:
        """Count `events` more applied, the latest of which happened at `latest_occurred_at`; the status after."""

    async def current(self) -> ProjectionStatus: ...


class Inbox(Protocol):
    async def first_deliveries(self, consumer: str, message_ids: Sequence[str]) -> set[str]: ...


class UnitOfWork(Protocol):
    """One transaction; nothing is kept unless `commit()` is called."""

    @property
    def members(self) -> MemberRepository: ...

    @property
    def status(self) -> StatusRepository: ...

    @property
    def inbox(self) -> Inbox: ...

    async def commit(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class EventReplay(Protocol):
    def __call__(self) -> AsyncIterator[MoneyEvent]:
        """Every event the broker still holds that the model is made of, from the first."""


class Clock(Protocol):
    def __call__(self) -> datetime: ...
