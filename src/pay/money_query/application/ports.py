"""What the money-query use cases need from the outside world."""

from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from pay.money_query.domain.projection import MemberMoney, MoneyEvent, ProjectionStatus, RegionMoney


class MemberRepository(Protocol):
    async def lock(self, membership_id: str) -> MemberMoney | None:
        """The member, locked until the transaction ends; None for one no event named yet."""

    async def save(self, member: MemberMoney) -> None: ...

    async def region(self, address: str) -> RegionMoney: ...

    async def everyone(self) -> Mapping[str, MemberMoney]: ...

    async def keep_rebuilt(self, members: Iterable[MemberMoney]) -> None:
        """Replace the last rebuilt model with these members, beside the live one."""


class StatusRepository(Protocol):
    async def applied(self, occurred_at: datetime, applied_at: datetime) -> ProjectionStatus:
        """Count one more event applied; the status after it."""

    async def current(self) -> ProjectionStatus: ...


class Inbox(Protocol):
    async def first_delivery(self, consumer: str, message_id: str) -> bool: ...


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
