"""Merchant webhooks: where a franchise may be sent its events, how each is signed, and a delivery's state machine.

A delivery is one event for one franchise, tried until its receiver answers 2xx or a day has passed:

    PENDING --2xx--> DELIVERED
       | no 2xx (an error, a timeout, another status): tried again after the backoff, unless the next try
       | would come after the deadline: GAVE_UP

Each try is made under a lease (the saga's row is not locked while the receiver is called); the answer counts
only for the try that still holds it. A redelivery asked by the merchant makes it PENDING again, due at once,
with a new day to succeed in.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol
from urllib.parse import urlsplit

# How long a delivery is tried before it is given up (issue 15: "exponential backoff for 24 h").
RETRY_WINDOW = timedelta(hours=24)
# The hosts a development system may send to over plain http: the receivers a developer runs locally.
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SECRET_PREFIX = "whsec_"
SIGNATURE_HEADER = "Pay-Signature"
_MAX_URL = 500


class WebhookUrlRefused(ValueError):
    """Not an http(s) URL the platform will send to: the reason says which rule it breaks."""


class DeliveryNotFound(Exception):
    pass


def new_secret() -> str:
    """A franchise's signing secret: 32 random bytes, URL-safe, recognisable by its prefix."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `Pay-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under the secret."""
    signed = str(timestamp).encode() + b"." + body
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def ensure_webhook_url(url: str, *, loopback_allowed: bool) -> str:
    """The URL, if the platform may send to it: https to a public host, or (`loopback_allowed`, development)
    http or https to this machine. No credentials in it; a host named by its address must be a public one."""
    if len(url) > _MAX_URL:
        raise WebhookUrlRefused(f"a webhook URL is at most {_MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise WebhookUrlRefused(f"not a URL: {error}") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise WebhookUrlRefused("a webhook URL is https://host/…")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlRefused("a webhook URL carries no credentials")
    if port == 0:
        raise WebhookUrlRefused("port 0 is no port")
    if host in LOOPBACK_NAMES or _is_loopback(host):
        if not loopback_allowed:
            raise WebhookUrlRefused("webhooks go to public hosts, not to this machine")
        return url
    if parts.scheme != "https":
        raise WebhookUrlRefused("a webhook URL to another machine is https")
    if _is_address(host) and not address_allowed(host, loopback_allowed=loopback_allowed):
        raise WebhookUrlRefused("a webhook URL names a public host, not a private or reserved address")
    if "." not in host:
        raise WebhookUrlRefused("a webhook host is a public name with a domain")
    return url


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    return _is_address(host) and ipaddress.ip_address(host).is_loopback


def address_allowed(address: str, *, loopback_allowed: bool) -> bool:
    """Whether a request may be sent to this IP address: a public one, or this machine's in development. Checked
    again on each address a host name resolves to when a delivery is sent, so that a name cannot lead inside."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global or (loopback_allowed and ip.is_loopback)


class Backoff(Protocol):
    def delay(self, attempt: int) -> timedelta:
        """How long to wait after the `attempt`-th failed try (1 for the first)."""


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    GAVE_UP = "GAVE_UP"


@dataclass(frozen=True)
class Attempt:
    """One try: when it was made and what the receiver answered (`status_code`), or why it got no answer."""

    number: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class SendCall:
    """The delivery is to be sent now, as try `number`; its outcome counts only while no later try took over."""

    number: int


@dataclass
class Delivery:
    """One event for one franchise's webhook, and every try to send it."""

    delivery_id: str
    franchise_id: str
    event_id: str
    event_type: str
    body: bytes
    status: DeliveryStatus
    created_at: datetime
    updated_at: datetime
    deadline: datetime
    wake_at: datetime | None
    # Tries taken so far, ever: the number of the latest, whose outcome alone counts.
    tries: int = 0
    # Tries that failed since the delivery was (re)started: the backoff grows with them.
    failures: int = 0
    attempts: list[Attempt] = field(default_factory=list)

    @classmethod
    def of_event(
        cls, delivery_id: str, franchise_id: str, event_id: str, event_type: str, body: bytes, now: datetime
    ) -> Delivery:
        """A delivery due at once."""
        return cls(
            delivery_id, franchise_id, event_id, event_type, body, DeliveryStatus.PENDING, now, now,
            now + RETRY_WINDOW, now,
        )  # fmt: skip

    @property
    def is_finished(self) -> bool:
        return self.status is not DeliveryStatus.PENDING

    def is_due(self, now: datetime) -> bool:
        return self.wake_at is not None and self.wake_at <= now

    def send(self, now: datetime, lease: timedelta) -> SendCall:
        """Take a lease for the next try: if its outcome is not heard within it, the timer tries again."""
        if self.is_finished:
            raise ValueError(f"delivery {self.delivery_id} ended {self.status}")
        self.tries += 1
        self.wake_at = now + lease
        return SendCall(self.tries)

    def calls(self, number: int) -> bool:
        return not self.is_finished and self.tries == number

    def sent(self, attempt: Attempt, now: datetime, retry: Backoff) -> None:
        """The outcome of a try: delivered on a 2xx, else tried again after the backoff while the deadline
        allows. An outcome of a try another has taken over from is only logged."""
        self.attempts.append(attempt)
        self.updated_at = now
        if not self.calls(attempt.number):
            return
        if attempt.succeeded:
            self.status, self.wake_at = DeliveryStatus.DELIVERED, None
            return
        self.failures += 1
        next_try = now + retry.delay(self.failures)
        if next_try > self.deadline:
            self.status, self.wake_at = DeliveryStatus.GAVE_UP, None
        else:
            self.wake_at = next_try

    def redeliver(self, now: datetime) -> None:
        """Send it again at once, with a new day to succeed in, whatever became of it."""
        self.status, self.wake_at, self.deadline, self.updated_at = DeliveryStatus.PENDING, now, now + RETRY_WINDOW, now
        self.failures = 0
        # A try under way counts no more: its outcome is logged, the next try decides.
        self.tries += 1
