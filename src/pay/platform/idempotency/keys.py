"""Idempotency keys, the answers stored for them, and the one rule that resolves a request's key."""

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson
from pydantic import BaseModel

from pay.platform.db import utcnow
from pay.platform.problems import Problem

KEEP_FOR = timedelta(hours=48)
# Far longer than any request may run (graceful shutdown included): a key still unanswered then was abandoned.
ABANDONED_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    headers: dict[str, str]


def long_running_answer(content: BaseModel, ended: bool, status_url: str) -> StoredResponse:
    """The answer to a request that may outlast it: 200 once it has ended, else 202 and where to poll."""
    body = content.model_dump_json(by_alias=True).encode()
    if ended:
        return StoredResponse(200, body, {"content-type": "application/json"})
    return StoredResponse(202, body, {"content-type": "application/json", "location": status_url})


@dataclass(frozen=True)
class KeyClaim:
    """A request's Idempotency-Key: whose (`scope`), which, and a fingerprint of the request it names."""

    scope: str
    key: str
    request_hash: str

    @property
    def name(self) -> tuple[str, str]:
        return self.scope, self.key


class KeyRefused(Problem):
    """The request is not run: the problem it answers says why."""


class KeyReused(KeyRefused):
    def __init__(self) -> None:
        super().__init__(409, "idempotency-key-reuse", "This Idempotency-Key was used with another request")


class KeyInProgress(KeyRefused):
    def __init__(self) -> None:
        super().__init__(
            409,
            "idempotency-key-in-progress",
            "A request with this Idempotency-Key is still being processed",
            headers={"Retry-After": "1"},
        )


class KeyAbandoned(KeyRefused):
    """The first request with this key never stored its answer (its process died): what it did is unknown."""

    def __init__(self) -> None:
        super().__init__(
            409,
            "idempotency-key-abandoned",
            "The first request with this Idempotency-Key stopped before answering",
            "It may or may not have taken effect, so it is not run again: look up its outcome "
            "(for example the history) before sending the operation with a new key.",
        )


# What a request meets: None when its key is its own now, else the earlier answer or the refusal to raise.
KeyResolution = StoredResponse | KeyRefused | None


class StoredKey(Protocol):
    """A key as the store holds it (a row of `idempotency_keys`)."""

    request_hash: str
    response_status: int | None
    response_body: bytes | None
    response_headers: dict[str, str] | None
    created_at: datetime


def resolve(
    claims: Sequence[KeyClaim], stored: Mapping[tuple[str, str], StoredKey], new: Collection[tuple[str, str]]
) -> list[KeyResolution]:
    """The rule, for a group of requests in arrival order.

    `new` names the keys that are this group's own (claimed now, or found nowhere); `stored` holds
    the others as found. The first request with a new key wins it; a later one in the group meets
    it as in progress, or as reused if its request differs. A request whose key was stored before
    meets that key's answer, or its refusal.
    """
    first_with_key: dict[tuple[str, str], KeyClaim] = {}
    resolutions: list[KeyResolution] = []
    for claim in claims:
        if (first := first_with_key.get(claim.name)) is not None:
            resolutions.append(KeyInProgress() if first.request_hash == claim.request_hash else KeyReused())
        elif claim.name in new:
            first_with_key[claim.name] = claim
            resolutions.append(None)
        else:
            resolutions.append(_earlier_answer(claim, stored.get(claim.name)))
    return resolutions


def _earlier_answer(claim: KeyClaim, row: StoredKey | None) -> StoredResponse | KeyRefused:
    if row is None:
        # The request that claimed it failed and released it between our claim and our look: let the caller retry.
        return KeyInProgress()
    if row.request_hash != claim.request_hash:
        return KeyReused()
    if row.response_status is None:
        return KeyAbandoned() if utcnow() - row.created_at > ABANDONED_AFTER else KeyInProgress()
    return StoredResponse(row.response_status, row.response_body or b"", row.response_headers or {})


def _canonical(body: bytes) -> bytes:
    # Parsed exactly (orjson would round a huge integer to a float, so two bodies could look alike).
    try:
        parsed: Any = json.loads(body)
        return orjson.dumps(parsed, option=orjson.OPT_SORT_KEYS)
    except (ValueError, TypeError):  # not JSON, or an integer beyond 64 bits: the body as it came
        return body


# The longest scope the key store keeps (`idempotency_keys.scope`).
MAX_SCOPE_LENGTH = 200


def key_scope(caller: str, path: str) -> str:
    """Whose key, on which path: `caller:path`, or, for a path too long to be kept as it is (a path parameter the
    route will refuse, say), `caller:sha256:<digest of the path>`."""
    scope = f"{caller}:{path}"
    if len(scope) <= MAX_SCOPE_LENGTH:
        return scope
    return f"{caller}:sha256:{hashlib.sha256(path.encode()).hexdigest()}"


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + _canonical(body)).hexdigest()
