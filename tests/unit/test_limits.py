"""The kernel's request limits on their own: what they read of a body before they refuse it."""

import json

from starlette.types import Message, Receive, Scope, Send

from pay.platform.limits import RequestLimitsMiddleware

LIMIT = 1000


def _scope(headers: list[tuple[bytes, bytes]], path: str = "/things") -> Scope:
    return {"type": "http", "method": "POST", "path": path, "query_string": b"", "headers": headers}


class _Client:
    """Sends the body in chunks and counts how many the app asked for."""

    def __init__(self, chunks: int, size: int) -> None:
        self.chunks, self.size, self.read = chunks, size, 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        self.read += 1
        return {"type": "http.request", "body": b"x" * self.size, "more_body": self.read < self.chunks}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    def status(self) -> int:
        return int(self.sent[0]["status"])

    def body(self) -> dict[str, object]:
        return dict(json.loads(self.sent[1]["body"]))


async def _unreachable(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("the app must not be called")


async def test_a_body_announced_too_large_is_refused_without_reading_any_of_it() -> None:
    client = _Client(chunks=100, size=100)
    guard = RequestLimitsMiddleware(_unreachable, max_body_bytes=LIMIT)
    await guard(_scope([(b"content-length", b"10000")]), client.receive, client.send)
    assert client.status() == 413 and client.body()["code"] == "payload-too-large"
    assert client.read == 0
    assert (b"connection", b"close") in client.sent[0]["headers"]


async def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    client = _Client(chunks=100, size=300)
    guard = RequestLimitsMiddleware(_unreachable, max_body_bytes=LIMIT)
    await guard(_scope([]), client.receive, client.send)
    assert client.status() == 413
    assert client.read == 4, "1,200 bytes read of 30,000: the rest is left unread"


async def test_a_body_within_the_limit_reaches_the_app_whole() -> None:
    client = _Client(chunks=3, size=300)
    received: list[bytes] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        received.append((await receive())["body"])

    await RequestLimitsMiddleware(app, max_body_bytes=LIMIT)(_scope([]), client.receive, client.send)
    assert received == [b"x" * 900]
