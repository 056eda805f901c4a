"""A request's body, read once and handed on: the kernel's middleware and the direct routes each need
the whole body before the next one runs, and all read and replay it the same way."""

import sys

from starlette.types import Message, Receive


async def read_at_most(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes `limit` bytes (the rest is left unread)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def read_body(receive: Receive) -> bytes:
    """The whole body (the kernel's limits have bounded it already)."""
    body = await read_at_most(receive, sys.maxsize)
    assert body is not None
    return body


def replaying(body: bytes, receive: Receive) -> Receive:
    """The body, already read, for the next reader; then whatever the server says next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def says_json(content_type: str) -> bool:
    """Whether a content type names JSON, as FastAPI decides: `application/json` or `application/*+json`."""
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))
