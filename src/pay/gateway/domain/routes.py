"""Which service answers a path, which calls are limited per client, and which paths are refused outright.

Plain rules over the request's method and path; the adapters do the forwarding.
"""

import re
from dataclasses import dataclass
from enum import StrEnum

# Longest prefix first: `/money/query/...` is money-query's, `/money/...` money's. The bank simulator stands for
# a real bank outside the platform, so no path reaches it. The gateway's own paths (`/`, `/console/…`,
# `/reconcile`) start with none of these prefixes.
_ROUTES: tuple[tuple[str, str], ...] = (
    ("/money/query", "money-query"),
    ("/money/aggregation", "money-aggregation"),
    ("/membership", "membership"),
    ("/banking", "banking"),
    ("/money", "money"),
    ("/remittance", "remittance"),
    ("/payment", "payment"),
    ("/franchise", "franchise"),
    ("/settlement", "settlement"),
    ("/notifications", "notification"),
)


# Every service the gateway forwards to.
SERVICES = tuple(service for _, service in _ROUTES)


class Limit(StrEnum):
    """The calls counted against a client's allowance: a guessed password costs an attacker one login, and a
    client that moves money in a loop should meet a wall before the ledger does."""

    LOGIN = "login"
    MONEY_MOVING = "money-moving"


_LOGIN = re.compile(r"/membership/login")
_MONEY_MOVING = re.compile(
    r"/money/(increase|increase-async|decrease|transfer)"
    r"|/remittance/request"
    r"|/payment/request|/payment/[^/]+/cancel"
    r"|/banking/firmbanking/request"
    r"|/settlement/start"
)


@dataclass(frozen=True)
class Route:
    service: str
    limit: Limit | None


def route(method: str, path: str) -> Route | None:
    """The service that answers `path` and the allowance the call counts against; None for a path no public
    service answers."""
    service = next((service for prefix, service in _ROUTES if path == prefix or path.startswith(prefix + "/")), None)
    if service is None:
        return None
    return Route(service, _limit(method, path))


def _limit(method: str, path: str) -> Limit | None:
    if method != "POST":
        return None
    if _LOGIN.fullmatch(path):
        return Limit.LOGIN
    if _MONEY_MOVING.fullmatch(path):
        return Limit.MONEY_MOVING
    return None


def is_malformed(raw_path: bytes) -> bool:
    """A path that no service's route could mean, or that may mean another after a decoding: a dot segment,
    an empty segment, a backslash, or any of them percent-encoded. Refused before it reaches a service."""
    lowered = raw_path.lower()
    if any(encoded in lowered for encoded in (b"%2e", b"%2f", b"%5c", b"%00")) or b"\\" in raw_path:
        return True
    segments = raw_path.split(b"/")[1:]
    return any(segment in (b"", b".", b"..") for segment in segments[:-1]) or segments[-1:] in ([b"."], [b".."])
