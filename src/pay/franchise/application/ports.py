"""What the franchise use cases need from the outside world."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from pay.franchise.domain.model import BankAccount, Franchise, Owner
from pay.franchise.domain.webhooks import Delivery


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


class WebhookSecrets(Protocol):
    async def put(self, franchise_id: str, secret: str) -> None:
        """The franchise's signing secret from now on, in place of any it had."""

    async def get(self, franchise_id: str) -> str | None: ...


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: Sequence[Delivery]
    next_cursor: int | None


class DeliveryRepository(Protocol):
    async def add(self, delivery: Delivery) -> None: ...

    async def lock(self, delivery_id: str, *, skip_locked: bool = False) -> Delivery | None:
        """The delivery, its saga's row locked until the transaction ends; with `skip_locked`, None if another
        holds it."""

    async def save(self, delivery: Delivery) -> None:
        """Its state, and the tries it was given since it was read."""

    async def page(self, franchise_id: str, after: int | None, limit: int) -> DeliveryPage:
        """The franchise's deliveries, newest first, after the cursor, with their tries."""


class Inbox(Protocol):
    async def first_delivery(self, consumer: str, message_id: str) -> bool: ...


@dataclass(frozen=True)
class Sent:
    """What a receiver answered (`status_code`), or why no answer came (`error`), and how long it took."""

    status_code: int | None
    error: str | None
    duration_ms: int


class WebhookSender(Protocol):
    async def send(self, url: str, body: bytes, signature: str) -> Sent:
        """POST the body, signed, to the URL: never raises, whatever the receiver does."""


class RequestKey(Protocol):
    """A client's Idempotency-Key, as the inbound adapter passed it on: opaque here."""


class PriorAnswer(Protocol):
    """What an earlier request with the same key was answered: opaque here, the inbound adapter replays it."""


class UnitOfWork(Protocol):
    """One transaction. Its commit also sends the events the franchises it handled recorded."""

    @property
    def franchises(self) -> FranchiseRepository: ...

    @property
    def webhook_secrets(self) -> WebhookSecrets: ...

    @property
    def deliveries(self) -> DeliveryRepository: ...

    @property
    def inbox(self) -> Inbox: ...

    async def earlier_answer(self, key: RequestKey) -> PriorAnswer | None: ...

    async def keep_answer(self, key: RequestKey, outcome: object) -> None: ...

    async def commit(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class Clock(Protocol):
    def __call__(self) -> datetime: ...
