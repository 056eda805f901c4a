"""The Idempotency-Key mechanism for every money-moving request.

The key is claimed (committed) before the handler runs, and the response is stored after it and
before the caller receives it: the same key and body replay the stored response; another body is
refused with 409 `idempotency-key-reuse`; a retry that arrives while the first is still running gets
409 `idempotency-key-in-progress`, or `idempotency-key-abandoned` once the first request has clearly
died without answering. 5xx answers are not stored, so the client may retry them. Keys are scoped to the
caller's identity so one member can never replay another's response.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pay.platform.auth import VERIFIED_PRINCIPAL, InvalidToken, TokenVerifier
from pay.platform.batching import Batcher
from pay.platform.db import array_parameters, idempotency_keys, utcnow
from pay.platform.problems import Problem, problem_response

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 200
KEEP_FOR = timedelta(hours=48)
# Far longer than any request may run (graceful shutdown included): a key still unanswered then was abandoned.
ABANDONED_AFTER = timedelta(minutes=2)
_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


# Headers that are part of the answer itself, so a replay must carry them too.
_KEPT_HEADERS = (b"content-type", b"location", b"retry-after")


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    headers: dict[str, str]


class KeyRefused(Exception):
    """The request is not run: the problem says why."""

    problem: Problem


class KeyReused(KeyRefused):
    problem = Problem(409, "idempotency-key-reuse", "This Idempotency-Key was used with another request")


class KeyInProgress(KeyRefused):
    problem = Problem(
        409,
        "idempotency-key-in-progress",
        "A request with this Idempotency-Key is still being processed",
        headers={"Retry-After": "1"},
    )


class KeyAbandoned(KeyRefused):
    """The first request with this key never stored its answer (its process died): what it did is unknown."""

    problem = Problem(
        409,
        "idempotency-key-abandoned",
        "The first request with this Idempotency-Key stopped before answering",
        "It may or may not have taken effect, so it is not run again: look up its outcome "
        "(for example the history) before sending the operation with a new key.",
    )


@dataclass(frozen=True)
class _Claim:
    scope: str
    key: str
    request_hash: str


@dataclass(frozen=True)
class _Answer:
    scope: str
    key: str
    response: StoredResponse


# A whole group in one statement each: arrays in, one row per key out.
_CLAIM_GROUP = sa.text(
    """
    INSERT INTO idempotency_keys (scope, key, request_hash, created_at)
    SELECT scope, key, request_hash, :now
    FROM unnest(:scopes, :keys, :hashes) AS c(scope, key, request_hash)
    ON CONFLICT DO NOTHING
    RETURNING scope, key
    """
).bindparams(*array_parameters(scopes=sa.String, keys=sa.String, hashes=sa.String))
_FIND_GROUP = sa.text(
    """
    SELECT k.scope, k.key, k.request_hash, k.response_status, k.response_body, k.response_headers, k.created_at
    FROM idempotency_keys AS k
    JOIN unnest(:scopes, :keys) AS f(scope, key) USING (scope, key)
    """
).bindparams(*array_parameters(scopes=sa.String, keys=sa.String))
_COMPLETE_GROUP = sa.text(
    """
    UPDATE idempotency_keys AS k
    SET response_status = a.status, response_body = a.body, response_headers = CAST(a.headers AS jsonb)
    FROM unnest(:scopes, :keys, :statuses, :bodies, :headers) AS a(scope, key, status, body, headers)
    WHERE k.scope = a.scope AND k.key = a.key
    """
).bindparams(
    *array_parameters(scopes=sa.String, keys=sa.String, statuses=sa.Integer, bodies=sa.LargeBinary, headers=sa.Text)
)
_RELEASE = idempotency_keys.delete().where(
    sa.and_(idempotency_keys.c.scope == sa.bindparam("this_scope"), idempotency_keys.c.key == sa.bindparam("this_key"))
)


class IdempotencyStore:
    """Keys and answers, on an autocommit engine (see `create_bookkeeping_engine`).

    Claims and answers are written in groups (`pay.platform.batching`): under load, one statement
    carries the keys of every request that arrived meanwhile.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._claims: Batcher[_Claim, StoredResponse | None] = Batcher(self._claim_group)
        self._answers: Batcher[_Answer, None] = Batcher(self._complete_group)

    async def claim(self, scope: str, key: str, request_hash: str) -> StoredResponse | None:
        """Claim the key for this request, or return the response stored for an identical one."""
        return await self._claims.submit(_Claim(scope, key, request_hash))

    async def complete(self, scope: str, key: str, response: StoredResponse) -> None:
        await self._answers.submit(_Answer(scope, key, response))

    async def release(self, scope: str, key: str) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(_RELEASE, {"this_scope": scope, "this_key": key})

    async def forget_expired(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(
                idempotency_keys.delete().where(idempotency_keys.c.created_at < utcnow() - KEEP_FOR)
            )

    async def _claim_group(self, claims: Sequence[_Claim]) -> list[StoredResponse | Exception | None]:
        # A key twice in one group: its first request claims it, the others meet it as already claimed.
        first_with_key: dict[tuple[str, str], int] = {}
        for index, claim in enumerate(claims):
            first_with_key.setdefault((claim.scope, claim.key), index)
        candidates = [claims[index] for index in first_with_key.values()]
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                _CLAIM_GROUP,
                {
                    "now": utcnow(),
                    "scopes": [claim.scope for claim in candidates],
                    "keys": [claim.key for claim in candidates],
                    "hashes": [claim.request_hash for claim in candidates],
                },
            )
            winners = {first_with_key[(row.scope, row.key)] for row in rows}
            others = [claim for index, claim in enumerate(claims) if index not in winners]
            found = {}
            if others:
                rows = await connection.execute(
                    _FIND_GROUP, {"scopes": [claim.scope for claim in others], "keys": [claim.key for claim in others]}
                )
                found = {(row.scope, row.key): row for row in rows}
        return [
            None if index in winners else _earlier_answer(claim, found.get((claim.scope, claim.key)))
            for index, claim in enumerate(claims)
        ]

    async def _complete_group(self, answers: Sequence[_Answer]) -> list[Exception | None]:
        async with self._engine.connect() as connection:
            await connection.execute(
                _COMPLETE_GROUP,
                {
                    "scopes": [answer.scope for answer in answers],
                    "keys": [answer.key for answer in answers],
                    "statuses": [answer.response.status for answer in answers],
                    "bodies": [answer.response.body for answer in answers],
                    "headers": [json.dumps(answer.response.headers) for answer in answers],
                },
            )
        return [None] * len(answers)


def _earlier_answer(claim: _Claim, row: sa.Row[Any] | None) -> StoredResponse | Exception:
    """What a request meets when its key was claimed before: the stored answer, or why it is refused."""
    if row is None:
        # The request that claimed it failed and released it between our claim and our look: let the caller retry.
        return KeyInProgress()
    if row.request_hash != claim.request_hash:
        return KeyReused()
    if row.response_status is None:
        return KeyAbandoned() if utcnow() - row.created_at > ABANDONED_AFTER else KeyInProgress()
    return StoredResponse(row.response_status, row.response_body, row.response_headers)


def _canonical(body: bytes) -> bytes:
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        return body


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + _canonical(body)).hexdigest()


def _caller(scope: Scope, headers: dict[bytes, bytes], verifier: TokenVerifier | None) -> str:
    """Who is asking; a verified principal is left in the scope so the endpoint need not verify again."""
    authorization = headers.get(b"authorization", b"").decode()
    scheme, _, token = authorization.partition(" ")
    if verifier is None or scheme.lower() != "bearer":
        return "anonymous"
    try:
        principal = verifier.verify(token)
    except InvalidToken:
        return "anonymous"
    scope[VERIFIED_PRINCIPAL] = principal
    return principal.subject


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        key = headers.get(HEADER.encode(), b"").decode()
        if not key or scope["method"] not in _METHODS:
            await self.app(scope, receive, send)
            return
        if len(key) > MAX_KEY_LENGTH:
            problem = Problem(422, "invalid-idempotency-key", "The Idempotency-Key is too long")
            await problem_response(problem)(scope, receive, send)
            return

        state = scope["app"].state
        store: IdempotencyStore = state.idempotency_store
        body = await _read_body(receive)
        caller = f"{_caller(scope, headers, getattr(state, 'token_verifier', None))}:{scope['path']}"
        try:
            stored = await store.claim(caller, key, request_fingerprint(scope["method"], scope["path"], body))
        except KeyRefused as refusal:
            await problem_response(refusal.problem)(scope, receive, send)
            return
        if stored is not None:
            await _replay(stored, send)
            return

        # The answer is stored before the caller sees it, so a caller holding an answer can always replay it.
        recorder = _ResponseRecorder()
        try:
            await self.app(scope, _replaying(body), recorder.record)
        except BaseException:
            await store.release(caller, key)
            raise
        if recorder.status is not None and recorder.status < 500:
            await store.complete(caller, key, recorder.stored())
        else:
            await store.release(caller, key)
        await recorder.forward(send)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _replay(stored: StoredResponse, send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": stored.status,
            "headers": [
                *((name.encode(), value.encode()) for name, value in stored.headers.items()),
                (b"content-length", str(len(stored.body)).encode()),
                (b"idempotent-replayed", b"true"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": stored.body})


class _ResponseRecorder:
    """Holds the handler's answer back until it is stored."""

    def __init__(self) -> None:
        self._messages: list[Message] = []

    async def record(self, message: Message) -> None:
        self._messages.append(message)

    async def forward(self, send: Send) -> None:
        for message in self._messages:
            await send(message)

    @property
    def status(self) -> int | None:
        start = self._start()
        return start["status"] if start is not None else None

    def stored(self) -> StoredResponse:
        start = self._start()
        assert start is not None
        headers = {
            name.lower().decode(): value.decode()
            for name, value in start.get("headers", [])
            if name.lower() in _KEPT_HEADERS
        }
        body = b"".join(
            message.get("body", b"") for message in self._messages if message["type"] == "http.response.body"
        )
        return StoredResponse(start["status"], body, headers)

    def _start(self) -> Message | None:
        return next((message for message in self._messages if message["type"] == "http.response.start"), None)
