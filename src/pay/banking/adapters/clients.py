"""Banking's outbound clients: membership, and the external bank behind timeouts, retries and a circuit breaker."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from prometheus_client import Gauge
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.messages.base import Event
from purgatory.domain.messages.events import ContextChanged
from purgatory.domain.model import CLOSED, OpenedState
from pydantic import TypeAdapter, ValidationError

from pay.banking.application.ports import BankUnavailable, MembershipUnavailable
from pay.banking.domain.model import (
    AccountRef,
    AccountStanding,
    BankAccountNotFound,
    BankAnswer,
    MemberNotFound,
    MemberStanding,
    NotReceived,
    Settled,
    TransferOrder,
    Unknown,
)
from pay.contracts.bank import BankTransferRequest, BankTransferResult, TransferStatus
from pay.contracts.clients import BankClient, Conflict, MembershipClient, NotFound, Rejected, ServiceError, Unavailable
from pay.contracts.types import BankAccountNumber, BankName
from pay.platform.retry import RetryPolicy

T = TypeVar("T")

_CIRCUIT = "bank"
_BANK_NAME: TypeAdapter[str] = TypeAdapter(BankName)
_ACCOUNT_NUMBER: TypeAdapter[str] = TypeAdapter(BankAccountNumber)

# Half-open counts as open: the bank has not answered well yet, and only trial calls reach it.
BREAKER_OPEN = Gauge(
    "pay_bank_breaker_open",
    "1 while banking's circuit breaker to the bank is open (calls fail at once, without reaching the bank) or "
    "trying the bank again after its reset time; 0 once a call succeeded",
)


class MembershipMembers:
    def __init__(self, client: MembershipClient) -> None:
        self._client = client

    async def standing(self, membership_id: str) -> MemberStanding:
        try:
            member = await self._client.get_member(membership_id)
        except NotFound as error:
            raise MemberNotFound(membership_id) from error
        except Unavailable as error:
            raise MembershipUnavailable(str(error)) from error
        return MemberStanding(member.membership_id, member.is_valid, member.name)

    async def aclose(self) -> None:
        await self._client.aclose()


@dataclass(frozen=True)
class BankResilience:
    """How long banking waits for the bank and how often it tries.

    - `timeout_seconds`: the longest one call to the bank may take, all included.
    - `retry`: a call whose outcome is unknown is tried again under it (`attempts`, `budget`, backoff).
    - `breaker_threshold` failed calls in a row open the circuit: calls then fail at once, without
      reaching the bank, until `breaker_reset_seconds` have passed and a trial call succeeds.
    """

    timeout_seconds: float
    retry: RetryPolicy
    breaker_threshold: int
    breaker_reset_seconds: float

    @property
    def longest_transfer(self) -> timedelta:
        """An upper bound of one `BankGateway.transfer`: the last attempt may start after the budget's
        last backoff (with its jitter, up to the first delay), and asks about the transfer before sending
        it again (two calls)."""
        last_start = self.retry.budget + self.retry.max_delay + self.retry.first_delay
        return last_start + 2 * timedelta(seconds=self.timeout_seconds)


# Statuses with which the bank says that it cannot tell yet, or not now (a request timeout, a transfer id
# still being worked on, too early, too many requests): like a 5xx, they leave the outcome to be learnt
# from the bank later. Any other 4xx is the bank refusing the call itself.
_NOT_KNOWN_YET = frozenset({408, 409, 425, 429})

# What a transfer that could not even be put to the bank fails with.
INVALID_TRANSFER = "invalid-transfer"


class _Unreachable(Exception):
    """The bank did not answer a call usefully: a timeout, a connection error, a 5xx, a "not known yet"."""


class _CircuitOpen(_Unreachable):
    """The circuit is open: the call was not even made."""


def _worth_retrying(error: Exception) -> bool:
    # Retrying while the circuit is open would only fail again at once; the request's saga comes back later.
    return isinstance(error, _Unreachable) and not isinstance(error, _CircuitOpen)


def _transfer_request(order: TransferOrder) -> BankTransferRequest:
    if order.source_fintech_use_num is not None:
        source: dict[str, str] = {"from_fintech_use_num": order.source_fintech_use_num}
    else:
        source = {
            "from_bank_name": order.source.bank_name,
            "from_bank_account_number": order.source.bank_account_number,
        }
    return BankTransferRequest(
        transfer_id=order.transfer_id,
        **source,
        to_bank_name=order.destination.bank_name,
        to_bank_account_number=order.destination.bank_account_number,
        amount=order.amount,
    )


def _settled(result: BankTransferResult) -> Settled:
    # The simulator names a transfer by the platform's transfer id; a real bank answers its own id.
    return Settled(result.status is TransferStatus.SUCCEEDED, result.reason, result.transfer_id)


def _ensure_well_formed(account: AccountRef) -> None:
    try:
        _BANK_NAME.validate_python(account.bank_name)
        _ACCOUNT_NUMBER.validate_python(account.bank_account_number)
    except ValidationError as error:
        # No bank account is named so: asking would only send the bank a malformed request.
        raise BankAccountNotFound(str(account)) from error


def _export_breaker_state(circuit: str, event_name: str, event: Event) -> None:
    # Called by the breaker as its state changes: the gauge is exact without being polled.
    if isinstance(event, ContextChanged):
        BREAKER_OPEN.set(0 if event.state == CLOSED else 1)


class BankGateway:
    """The bank adapter: it never decides an outcome the bank did not give.

    Every call is bounded by a timeout and goes through one circuit breaker for the bank. A transfer
    is retried with backoff under its same transfer id, which is safe because the bank executes a
    transfer id once; before each retry the bank is asked (`GET /bank/transfers/{id}`) whether it
    already has the transfer, and only its "never received" lets the transfer be sent again.

    Orders and accounts are checked against the bank's API contract before any call: one that breaks it
    is refused here and never reaches the bank (which then surely moved nothing). So the bank only sees
    well-formed requests, and only its 5xx and failures to answer at all count as the bank being unwell
    (the circuit breaker).
    """

    def __init__(self, client: BankClient, resilience: BankResilience, clock: Callable[[], datetime]) -> None:
        self._client = client
        self._resilience = resilience
        self._clock = clock
        # A bank's "no such account" or refusal is an answer, and a call cancelled on our side (a shutdown)
        # says nothing: neither is a sign that the bank is unwell.
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=resilience.breaker_threshold,
            default_ttl=resilience.breaker_reset_seconds,
            exclude=[NotFound, Conflict, Rejected, asyncio.CancelledError],
        )
        self._breakers.add_listener(_export_breaker_state)
        BREAKER_OPEN.set(0)
        self._retrying = resilience.retry.retrying(_worth_retrying)

    async def account(self, account: AccountRef) -> AccountStanding:
        _ensure_well_formed(account)
        found = await self._ask(
            lambda: self._client.get_account(account.bank_name, account.bank_account_number),
            "account-not-found",
            str(account),
        )
        return AccountStanding(account, found.valid, found.holder_name)

    async def fintech_use(self, account: AccountRef) -> str:
        _ensure_well_formed(account)
        # Safe to retry: the bank issues one number per account, however often asked.
        issued = await self._ask(
            lambda: self._client.issue_fintech_use(account.bank_name, account.bank_account_number),
            "account-not-found",
            str(account),
        )
        return issued.fintech_use_num

    async def balance(self, fintech_use_num: str) -> int:
        found = await self._ask(
            lambda: self._client.account_by_fintech_use(fintech_use_num), "fintech-use-not-found", fintech_use_num
        )
        return found.balance

    async def _ask(self, question: Callable[[], Awaitable[T]], not_found: str, named: str) -> T:
        """A question about an account, tried again while the bank does not answer; the bank's `not_found` code
        is BankAccountNotFound."""

        async def attempt() -> T:
            try:
                return await self._call(question)
            except ServiceError as error:
                if isinstance(error, NotFound) and error.code == not_found:
                    raise BankAccountNotFound(named) from error
                raise _Unreachable(f"unexpected answer: {error}") from error

        try:
            return await self._retrying(attempt)
        except _Unreachable as error:
            raise BankUnavailable(str(error)) from error

    async def transfer(self, order: TransferOrder, send_until: datetime) -> BankAnswer:
        try:
            request = _transfer_request(order)
        except ValidationError:
            # Never put to the bank, so it surely moved nothing.
            return Settled(False, INVALID_TRANSFER)
        sent = False

        async def attempt() -> BankAnswer:
            nonlocal sent
            answer: BankAnswer = Unknown("the send window was over before the transfer was sent")
            if sent:
                # The previous attempt may have reached the bank: ask before sending again.
                answer = await self._look_up(order.transfer_id)
                if isinstance(answer, Settled):
                    return answer
            if self._clock() >= send_until:
                return answer
            sent = True
            return await self._send(request)

        try:
            return await self._retrying(attempt)
        except _Unreachable as error:
            return Unknown(str(error))

    async def outcome_of(self, transfer_id: str) -> BankAnswer:
        try:
            return await self._look_up(transfer_id)
        except _Unreachable as error:
            return Unknown(str(error))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _send(self, request: BankTransferRequest) -> Settled:
        try:
            return _settled(await self._call(lambda: self._client.transfer(request)))
        except ServiceError as error:
            # A 4xx other than "not known yet": the bank refused to take the order at all, so it moved nothing.
            return Settled(False, f"refused-by-bank: {error.code or error.status}")

    async def _look_up(self, transfer_id: str) -> Settled | NotReceived:
        asked_at = self._clock()
        try:
            return _settled(await self._call(lambda: self._client.get_transfer(transfer_id)))
        except ServiceError as error:
            if isinstance(error, NotFound) and error.code == "transfer-not-found":
                return NotReceived(asked_at)
            # Any other refusal (a wrong URL, a proxy) says nothing about the transfer.
            raise _Unreachable(f"unexpected answer: {error}") from error

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        try:
            breaker = await self._breakers.get_breaker(_CIRCUIT)
            async with breaker, asyncio.timeout(self._resilience.timeout_seconds):
                return await operation()
        except OpenedState as error:
            raise _CircuitOpen("the circuit to the bank is open") from error
        except TimeoutError as error:
            raise _Unreachable(f"no answer within {self._resilience.timeout_seconds} s") from error
        except Unavailable as error:
            raise _Unreachable(str(error)) from error
        except ServiceError as error:
            # Outside the breaker: a bank that says "not yet" is busy, not unwell.
            if error.status in _NOT_KNOWN_YET:
                raise _Unreachable(f"not known yet: {error}") from error
            raise
