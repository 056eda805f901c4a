"""The Idempotency-Key mechanism for every money-moving request.

The key is claimed (committed) before the handler runs, and the response is stored after it and
before the caller receives it: the same key and body replay the stored response; another body is
refused with 409 `idempotency-key-reuse`; a retry that arrives while the first is still running gets
409 `idempotency-key-in-progress`, or `idempotency-key-abandoned` once the first request has clearly
died without answering. 5xx answers are not stored, so the client may retry them. Keys are scoped to the
caller's identity so one member can never replay another's response.

A handler may instead keep the key in the very transaction of its effect (`KeptInTransaction`,
`KeptAnswers`): the key is stored with its answer by the statement that stores the effect, so key,
effect and answer commit together or not at all.
"""

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

import orjson
import sqlalchemy as sa
from fastapi import Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pay.platform.auth import VERIFIED_PRINCIPAL, InvalidToken, TokenVerifier
from pay.platform.batching import Batcher
from pay.platform.db import as_rows, idempotency_keys, rows_parameter, utcnow
from pay.platform.problems import Problem, problem_response

HEADER = "idempotency-key"
# Where the middleware names the key for a handler that keeps its own answer.
CLAIM = "pay.idempotency.claim"
MAX_KEY_LENGTH = 200
KEEP_FOR = timedelta(hours=48)
# Far longer than any request may run (graceful shutdown included): a key still unanswered then was abandoned.
ABANDONED_AFTER = timedelta(minutes=2)
_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_PRINTABLE_ASCII = re.compile(rb"[\x20-\x7e]+")


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
class KeyClaim:
    """A request's Idempotency-Key: whose (`scope`), which, and a fingerprint of the request it names."""

    scope: str
    key: str
    request_hash: str


@dataclass(frozen=True)
class _Answer:
    claim: KeyClaim
    response: StoredResponse


@dataclass
class KeptInTransaction:
    """A keyed request whose handler stores the key, with its answer, in the transaction of its effect.

    The middleware then only names the key (`CLAIM`); `render` turns the handler's outcome into the
    answer the caller will receive, so that it can be stored before the transaction commits. `kept`
    is that answer once it was rendered, for the handler to send as it was stored.
    """

    claim: KeyClaim
    render: Callable[[object], StoredResponse]
    kept: StoredResponse | None = field(default=None, init=False)

    def answer(self, outcome: object) -> StoredResponse:
        self.kept = self.render(outcome)
        return self.kept


# A whole group in one statement each: rows in as one JSON document, one row per key out. Keys are claimed
# in one order, so two transactions claiming overlapping keys wait on each other instead of deadlocking.
_CLAIM_GROUP = sa.text(
    """
    INSERT INTO idempotency_keys (scope, key, request_hash, created_at)
    SELECT scope, key, request_hash, :now
    FROM json_to_recordset(CAST(:claims AS json)) AS c(scope text, key text, request_hash text)
    ORDER BY scope, key
    ON CONFLICT DO NOTHING
    RETURNING scope, key
    """
).bindparams(rows_parameter("claims"))
_FIND_GROUP = sa.text(
    """
    SELECT k.scope, k.key, k.request_hash, k.response_status, k.response_body, k.response_headers, k.created_at
    FROM idempotency_keys AS k
    JOIN json_to_recordset(CAST(:claims AS json)) AS f(scope text, key text) USING (scope, key)
    """
).bindparams(rows_parameter("claims"))
ANSWERS_PARAMETER = rows_parameter("answers")
_STORE_ANSWERS = sa.text(
    """
    UPDATE idempotency_keys AS k
    SET response_status = a.status, response_body = decode(a.body, 'base64'), response_headers = a.headers
    FROM json_to_recordset(CAST(:answers AS json)) AS a(scope text, key text, status int, body text, headers jsonb)
    WHERE k.scope = a.scope AND k.key = a.key
    """
).bindparams(ANSWERS_PARAMETER)
# A part of other statements (`WITH answered AS (...)`): a transaction that keeps its answers with its
# effect stores its keys and their answers in the same round trip as the effect (see `KeptAnswers`). A
# key stored meanwhile makes the whole statement fail with a unique violation; keys go in in one order,
# so two transactions storing overlapping keys wait on each other instead of deadlocking.
STORE_ANSWERED_KEYS_SQL = """
    INSERT INTO idempotency_keys
        (scope, key, request_hash, response_status, response_body, response_headers, created_at)
    SELECT a.scope, a.key, a.request_hash, a.status, decode(a.body, 'base64'), a.headers, :now
    FROM json_to_recordset(CAST(:answers AS json))
        AS a(scope text, key text, request_hash text, status int, body text, headers jsonb)
    ORDER BY a.scope, a.key
"""
_RELEASE = idempotency_keys.delete().where(
    sa.and_(idempotency_keys.c.scope == sa.bindparam("this_scope"), idempotency_keys.c.key == sa.bindparam("this_key"))
)


ClaimResult = StoredResponse | Exception | None


async def claim_keys(connection: AsyncConnection, claims: Sequence[KeyClaim]) -> list[ClaimResult]:
    """Claim every key in one statement: None for a key claimed now, else the earlier answer or a refusal.

    A key twice in one group is claimed by its first request; the others meet it as already claimed.
    """
    first_with_key: dict[tuple[str, str], int] = {}
    for index, claim in enumerate(claims):
        first_with_key.setdefault((claim.scope, claim.key), index)
    candidates = [claims[index] for index in first_with_key.values()]
    rows = await connection.execute(_CLAIM_GROUP, {"now": utcnow(), "claims": _claim_rows(candidates)})
    winners = {first_with_key[(row.scope, row.key)] for row in rows}
    others = [claim for index, claim in enumerate(claims) if index not in winners]
    found = {}
    if others:
        rows = await connection.execute(_FIND_GROUP, {"claims": _claim_rows(others)})
        found = {(row.scope, row.key): row for row in rows}
    return [
        None if index in winners else _earlier_answer(claim, found.get((claim.scope, claim.key)))
        for index, claim in enumerate(claims)
    ]


def _claim_rows(claims: Sequence[KeyClaim]) -> str:
    return as_rows([{"scope": c.scope, "key": c.key, "request_hash": c.request_hash} for c in claims])


def answer_rows(answers: Sequence[tuple[KeyClaim, StoredResponse]]) -> str:
    """The value of `ANSWERS_PARAMETER` that stores these answers."""
    return as_rows(
        [
            {
                "scope": claim.scope,
                "key": claim.key,
                "request_hash": claim.request_hash,
                "status": response.status,
                "body": base64.b64encode(response.body).decode(),
                "headers": response.headers,
            }
            for claim, response in answers
        ]
    )


class KeptAnswers:
    """Looks up keys and keeps answers in the caller's transaction, for `KeptInTransaction` requests.

    Units of work offer it to use cases that take an Idempotency-Key through to their effect; to
    them the keys are opaque.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def earlier(self, calls: Sequence[object]) -> list[ClaimResult]:
        """None for a call whose key is new; otherwise the earlier answer, or the refusal to raise.

        A key twice among the calls is new for its first call only; the others meet it as in progress,
        or as reused if their request differs.
        """
        claims = [_kept(call).claim for call in calls]
        rows = await self._connection.execute(_FIND_GROUP, {"claims": _claim_rows(claims)})
        found = {(row.scope, row.key): row for row in rows}
        first_with_key: dict[tuple[str, str], KeyClaim] = {}
        results: list[ClaimResult] = []
        for claim in claims:
            name = (claim.scope, claim.key)
            if name in found:
                results.append(_earlier_answer(claim, found[name]))
            elif name in first_with_key:
                same_request = first_with_key[name].request_hash == claim.request_hash
                results.append(KeyInProgress() if same_request else KeyReused())
            else:
                first_with_key[name] = claim
                results.append(None)
        return results

    def answer_rows(self, outcomes: Sequence[tuple[object, object]]) -> str:
        """The value of `ANSWERS_PARAMETER` that stores each keyed call's key with the answer to its outcome."""
        return answer_rows([(_kept(call).claim, _kept(call).answer(outcome)) for call, outcome in outcomes])


def _kept(call: object) -> KeptInTransaction:
    assert isinstance(call, KeptInTransaction), call
    return call


class IdempotencyStore:
    """Keys and answers, on an autocommit engine (see `create_bookkeeping_engine`).

    Claims and answers are written in groups (`pay.platform.batching`): under load, one statement
    carries the keys of every request that arrived meanwhile.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._claims: Batcher[KeyClaim, StoredResponse | None] = Batcher(self._claim_group)
        self._answers: Batcher[_Answer, None] = Batcher(self._complete_group)

    async def claim(self, claim: KeyClaim) -> StoredResponse | None:
        """Claim the key for this request, or return the response stored for an identical one."""
        return await self._claims.submit(claim)

    async def complete(self, claim: KeyClaim, response: StoredResponse) -> None:
        await self._answers.submit(_Answer(claim, response))

    async def release(self, claim: KeyClaim) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(_RELEASE, {"this_scope": claim.scope, "this_key": claim.key})

    async def forget_expired(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(
                idempotency_keys.delete().where(idempotency_keys.c.created_at < utcnow() - KEEP_FOR)
            )

    async def _claim_group(self, claims: Sequence[KeyClaim]) -> list[ClaimResult]:
        async with self._engine.connect() as connection:
            return await claim_keys(connection, claims)

    async def _complete_group(self, answers: Sequence[_Answer]) -> list[Exception | None]:
        async with self._engine.connect() as connection:
            answered = answer_rows([(answer.claim, answer.response) for answer in answers])
            await connection.execute(_STORE_ANSWERS, {"answers": answered})
        return [None] * len(answers)


def _earlier_answer(claim: KeyClaim, row: sa.Row[Any] | None) -> StoredResponse | Exception:
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
    # Parsed exactly (orjson would round a huge integer to a float, so two bodies could look alike).
    try:
        return orjson.dumps(json.loads(body), option=orjson.OPT_SORT_KEYS)
    except (ValueError, TypeError):  # not JSON, or an integer beyond 64 bits: the body as it came
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
    """Claims keys and keeps answers around the app; or, for a handler that keeps them in its own
    transaction (`kept_by_handler`), only names the key in the scope under `CLAIM`."""

    def __init__(self, app: ASGIApp, *, kept_by_handler: bool = False) -> None:
        self.app = app
        self._kept_by_handler = kept_by_handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        raw_key = headers.get(HEADER.encode(), b"")
        if not raw_key or scope["method"] not in _METHODS:
            await self.app(scope, receive, send)
            return
        if len(raw_key) > MAX_KEY_LENGTH or not _PRINTABLE_ASCII.fullmatch(raw_key):
            problem = Problem(
                422, "invalid-idempotency-key", "The Idempotency-Key must be 1 to 200 printable ASCII characters"
            )
            await problem_response(problem)(scope, receive, send)
            return
        key = raw_key.decode()

        state = scope["app"].state
        store: IdempotencyStore = state.idempotency_store
        body = await read_body(receive)
        caller = f"{_caller(scope, headers, getattr(state, 'token_verifier', None))}:{scope['path']}"
        claim = KeyClaim(caller, key, request_fingerprint(scope["method"], scope["path"], body))
        if self._kept_by_handler:
            scope[CLAIM] = claim
            await self.app(scope, _replaying(body), send)
            return
        try:
            stored = await store.claim(claim)
        except KeyRefused as refusal:
            await problem_response(refusal.problem)(scope, receive, send)
            return
        if stored is not None:
            await replayed(stored)(scope, receive, send)
            return

        # The answer is stored before the caller sees it, so a caller holding an answer can always replay it.
        recorder = _ResponseRecorder()
        try:
            await self.app(scope, _replaying(body), recorder.record)
        except BaseException:
            await store.release(claim)
            raise
        if recorder.status is not None and recorder.status < 500:
            await store.complete(claim, recorder.stored())
        else:
            await store.release(claim)
        await recorder.forward(send)


async def claimed_key(request: Request) -> KeyClaim | None:
    """The key of a request whose handler keeps its own answer (see `KeptInTransaction`), if it sent one."""
    claim = request.scope.get(CLAIM)
    return claim if isinstance(claim, KeyClaim) else None


ClaimedKey = Annotated[KeyClaim | None, Depends(claimed_key)]


def answered(stored: StoredResponse) -> Response:
    """The answer as it was stored."""
    return Response(stored.body, stored.status, headers=stored.headers)


def replayed(stored: StoredResponse) -> Response:
    return Response(stored.body, stored.status, headers={**stored.headers, "idempotent-replayed": "true"})


def answer_of(response: Response) -> StoredResponse:
    """What a replay of this response must answer."""
    return StoredResponse(response.status_code, bytes(response.body), _kept_headers(response.raw_headers))


def _kept_headers(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    return {name.lower().decode(): value.decode() for name, value in headers if name.lower() in _KEPT_HEADERS}


async def read_body(receive: Receive) -> bytes:
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
        headers = _kept_headers(start.get("headers", []))
        body = b"".join(
            message.get("body", b"") for message in self._messages if message["type"] == "http.response.body"
        )
        return StoredResponse(start["status"], body, headers)

    def _start(self) -> Message | None:
        return next((message for message in self._messages if message["type"] == "http.response.start"), None)
