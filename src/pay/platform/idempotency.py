"""The Idempotency-Key mechanism for every money-moving request.

The key is claimed (committed) before the handler runs, and the response is stored after it:
the same key and body replay the stored response; another body is refused with 409
`idempotency-key-reuse`; a retry that arrives while the first is still running gets 409
`idempotency-key-in-progress`, or `idempotency-key-abandoned` once the first request has clearly died
without answering. 5xx answers are not stored, so the client may retry them. Keys are scoped to the
caller's identity so one member can never replay another's response.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pay.platform.auth import VERIFIED_PRINCIPAL, InvalidToken, TokenVerifier
from pay.platform.db import idempotency_keys, utcnow
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


# Built once: constructing statements per request costs more than running them.
_CLAIM = insert(idempotency_keys).on_conflict_do_nothing()
_THIS_KEY = sa.and_(
    idempotency_keys.c.scope == sa.bindparam("this_scope"), idempotency_keys.c.key == sa.bindparam("this_key")
)
_FIND = sa.select(idempotency_keys).where(_THIS_KEY)
_COMPLETE = (
    idempotency_keys.update()
    .where(_THIS_KEY)
    .values(
        response_status=sa.bindparam("status"),
        response_body=sa.bindparam("body"),
        response_headers=sa.bindparam("headers"),
    )
)
_RELEASE = idempotency_keys.delete().where(_THIS_KEY)


class IdempotencyStore:
    """Keys and answers, on an autocommit engine (see `create_bookkeeping_engine`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(self, scope: str, key: str, request_hash: str) -> StoredResponse | None:
        """Claim the key for this request, or return the response stored for an identical one."""
        async with self._engine.connect() as connection:
            claimed = await connection.execute(
                _CLAIM, {"scope": scope, "key": key, "request_hash": request_hash, "created_at": utcnow()}
            )
            if claimed.rowcount:
                return None
            row = (await connection.execute(_FIND, {"this_scope": scope, "this_key": key})).one()
        if row.request_hash != request_hash:
            raise KeyReused()
        if row.response_status is None:
            if utcnow() - row.created_at > ABANDONED_AFTER:
                raise KeyAbandoned()
            raise KeyInProgress()
        return StoredResponse(row.response_status, row.response_body, row.response_headers)

    async def complete(self, scope: str, key: str, response: StoredResponse) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(
                _COMPLETE,
                {
                    "this_scope": scope,
                    "this_key": key,
                    "status": response.status,
                    "body": response.body,
                    "headers": response.headers,
                },
            )

    async def release(self, scope: str, key: str) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(_RELEASE, {"this_scope": scope, "this_key": key})

    async def forget_expired(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(
                idempotency_keys.delete().where(idempotency_keys.c.created_at < utcnow() - KEEP_FOR)
            )


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

        recorder = _ResponseRecorder(send)
        try:
            await self.app(scope, _replaying(body), recorder.send)
        except BaseException:
            await store.release(caller, key)
            raise
        if recorder.status is not None and recorder.status < 500:
            await store.complete(caller, key, recorder.stored())
        else:
            await store.release(caller, key)


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
    def __init__(self, send: Send) -> None:
        self._send = send
        self.status: int | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            for name, value in message.get("headers", []):
                if name.lower() in _KEPT_HEADERS:
                    self._headers[name.lower().decode()] = value.decode()
        elif message["type"] == "http.response.body":
            self._body.append(message.get("body", b""))
        await self._send(message)

    def stored(self) -> StoredResponse:
        assert self.status is not None
        return StoredResponse(self.status, b"".join(self._body), self._headers)
