"""What the franchise use cases need from the outside world."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from pay.franchise.domain.model import BankAccount, Franchise, Owner


class DownstreamUnavailable(Exception):
    """Membership, banking or the bank did not answer: nothing was recorded."""


class Owners(Protocol):
    async def owner(self, membership_id: str) -> Owner:
        """The member as membership knows it now; raises OwnerNotFound for one it does not know."""


class BankAccounts(Protocol):
    async def ensure_usable(self, account: BankAccount) -> None:
        """Raises BankAccountUnknown unless the bank confirms the account can take money."""


@dataclass(frozen=True)
class FranchisePage:
    franchises: Sequence[Franchise]
    next_cursor: int | None


class FranchiseRepository(Protocol):
    async def add(self, franchise: Franchise) -> None: ...

    async def get(self, franchise_id: str, *, for_update: bool = False) -> Franchise | None:
        """With the fee rate in force now."""

    async def save(self, franchise: Franchise) -> None:
        """A fee rate that changed is added to the franchise's rates; the rates before it are never changed."""

    async def page(self, owner_membership_id: str | None, after: int | None, limit: int) -> FranchisePage:
        """The owner's franchises (everyone's for None), in the order they were registered, after the cursor."""


class RequestKey(Protocol):
    """A client's Idempotency-Key, as the inbound adapter passed it on: opaque here."""


class PriorAnswer(Protocol):
    """What an earlier request with the same key was answered: opaque here, the inbound adapter replays it."""


class UnitOfWork(Protocol):
    """One transaction. Its commit also sends the events the franchises it handled recorded."""

    @property
    def franchises(self) -> FranchiseRepository: ...

    async def earlier_answer(self, key: RequestKey) -> PriorAnswer | None: ...

    async def keep_answer(self, key: RequestKey, outcome: object) -> None: ...

    async def commit(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class Clock(Protocol):
    def __call__(self) -> datetime: ...
