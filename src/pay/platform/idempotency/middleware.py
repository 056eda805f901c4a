"""The Idempotency-Key of a request, read before anything else runs.

For a route that keeps its answer in the transaction of its effect (its endpoint takes `ClaimedKey`,
see `kept`), the middleware only names the key in the request's scope. For any other route, it
claims the key before the handler runs and stores the answer after it, before the caller receives
it, so a caller holding an answer can always replay it; a 5xx is not stored, so the caller may retry.
"""

import re
from collections.abc import Callable, Iterable
from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pay.platform.auth import bearer_principal
from pay.platform.bodies import read_body, replaying
from pay.platform.idempotency.keys import KeyClaim, KeyRefused, StoredResponse, key_scope, request_fingerprint
from pay.platform.idempotency.store import IdempotencyStore
from pay.platform.problems import Problem, problem_response

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 200
# Where the middleware names the key for a handler that keeps its own answer.
_CLAIM = "pay.idempotency.claim"
# The methods whose requests may take an Idempotency-Key.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PRINTABLE_ASCII = re.compile(rb"[\x20-\x7e]+")
# Headers that are part of the answer itself, so a replay must carry them too.
_KEPT_HEADERS = (b"content-type", b"location", b"retry-after")
_INVALID_KEY = Problem(
    422, "invalid-idempotency-key", f"The Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"
)


class IdempotencyMiddleware:
    """`keeps_answers(scope)`: whether the route the request is for keeps its answer itself;
    `serves(scope)`: whether any route answers the request's method and path; `authenticates(scope)`:
    whether that route needs a known caller. A request no route answers is left to the app (404, 405),
    and so is one from an unknown caller to a route that needs a known one (401): its key is neither
    read nor claimed."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        keeps_answers: Callable[[Scope], bool],
        serves: Callable[[Scope], bool],
        authenticates: Callable[[Scope], bool],
    ) -> None:
        self.app = app
        self._keeps_answers = keeps_answers
        self._serves = serves
        self._authenticates = authenticates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_key = dict(scope["headers"]).get(HEADER) if scope["type"] == "http" else None
        if raw_key is None or scope["method"] not in UNSAFE_METHODS or not self._serves(scope):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        principal = bearer_principal(scope, state.token_verifier)
        if principal is None and self._authenticates(scope):
            await self.app(scope, receive, send)
            return
        if len(raw_key) > MAX_KEY_LENGTH or not _PRINTABLE_ASCII.fullmatch(raw_key):
            await problem_response(_INVALID_KEY)(scope, receive, send)
            return

        body = await read_body(receive)
        caller = principal.subject if principal is not None else "anonymous"
        claim = KeyClaim(
            key_scope(caller, scope["path"]),
            raw_key.decode(),
            request_fingerprint(scope["method"], scope["path"], body),
        )
        if self._keeps_answers(scope):
            scope[_CLAIM] = claim
            await self.app(scope, replaying(body, receive), send)
            return
        await _claim_around(state.idempotency_store, claim, self.app, scope, replaying(body, receive), send)


async def _claim_around(
    store: IdempotencyStore, claim: KeyClaim, app: ASGIApp, scope: Scope, receive: Receive, send: Send
) -> None:
    try:
        stored = await store.claim(claim)
    except KeyRefused as refusal:
        await problem_response(refusal)(scope, receive, send)
        return
    if stored is not None:
        await replayed(stored)(scope, receive, send)
        return
    recorder = _ResponseRecorder()
    try:
        await app(scope, receive, recorder.record)
    except BaseException:
        await store.release(claim)
        raise
    if recorder.status is not None and recorder.status < 500:
        await store.complete(claim, recorder.stored())
    else:
        await store.release(claim)
    await recorder.forward(send)


async def claimed_key(request: Request) -> KeyClaim | None:
    """The key of a request whose handler keeps its own answer (see `kept.KeptInTransaction`), if it sent one."""
    claim = request.scope.get(_CLAIM)
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
