"""What every request must be before anything reads it (decision 15): small enough, and nothing a
database refuses or a decoder cannot finish.

One ASGI middleware in the kernel's list, outermost but one, so it guards FastAPI's routes and the
direct routes alike:
- a body larger than `max_body_bytes` is 413 `payload-too-large` as soon as `Content-Length` says so,
  or as soon as the streamed body passes the limit, and the rest is not read;
- a NUL character in the path or the query is 400 `bad-request` (PostgreSQL text cannot hold it);
- a JSON body nested deeper than `MAX_JSON_DEPTH`, or with a NUL character in any string, is 422
  `validation-error`. Checking costs a few byte searches; the body is decoded here only when they
  find something suspect.
"""

import json
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from pay.platform.bodies import read_at_most, replaying, says_json
from pay.platform.problems import Problem, problem_response, validation_problem

# Far deeper than any request body of the platform, far shallower than Python's recursion limit.
MAX_JSON_DEPTH = 64

_NUL_IN_URL = Problem(400, "bad-request", "Bad request", "A path or query cannot contain a NUL character")


def _too_large(limit: int) -> Problem:
    return Problem(
        413,
        "payload-too-large",
        "Payload too large",
        f"A request body may have at most {limit} bytes",
        # The rest of the body is not read, so the connection cannot carry another request.
        headers={"Connection": "close"},
    )


class RequestLimitsMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_json_depth: int = MAX_JSON_DEPTH) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = _url_problem(scope)
        body = b""
        content_type = b""
        if problem is None:
            length, content_type = _length_and_type(scope)
            if length is not None and length > self.max_body_bytes:
                problem = _too_large(self.max_body_bytes)
        if problem is None:
            read = await read_at_most(receive, self.max_body_bytes)
            if read is None:
                problem = _too_large(self.max_body_bytes)
            else:
                body = read
                problem = _json_problem(body, content_type, self.max_json_depth)
        if problem is not None:
            await problem_response(problem, scope["path"])(scope, receive, send)
            return
        await self.app(scope, replaying(body, receive), send)


def _url_problem(scope: Scope) -> Problem | None:
    query: bytes = scope.get("query_string", b"")
    if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
        return _NUL_IN_URL
    return None


def _length_and_type(scope: Scope) -> tuple[int | None, bytes]:
    length: int | None = None
    content_type = b""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
        elif name == b"content-type":
            content_type = value
    return length, content_type


def _json_problem(body: bytes, content_type: bytes, max_depth: int) -> Problem | None:
    # A body without a media type is checked too: nothing about it says it is not JSON.
    text = content_type.decode("latin-1")
    if not body or (text.partition(";")[0].strip() and not says_json(text)):
        return None
    # Cheap tests first: a NUL escape, a NUL byte (also how UTF-16/32 JSON looks), or enough brackets to nest too deep.
    suspect = b"\\u0000" in body or b"\x00" in body or body.count(b"[") + body.count(b"{") > max_depth
    if not suspect:
        return None
    try:
        decoded = json.loads(body)
    except RecursionError:
        return _invalid_json(("body",), "json_too_deep", f"JSON may nest at most {max_depth} levels")
    except ValueError:
        return None  # not JSON: the route answers that, as for any other invalid body
    return _walk(decoded, max_depth)


def _walk(decoded: Any, max_depth: int) -> Problem | None:
    """The first NUL character or too-deep nesting in a decoded JSON document, without recursion."""
    pending: list[tuple[Any, tuple[str | int, ...]]] = [(decoded, ("body",))]
    while pending:
        value, location = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return _invalid_json(location, "string_nul", "A string cannot contain a NUL character")
            continue
        if not isinstance(value, dict | list):
            continue
        if len(location) > max_depth:
            return _invalid_json(location[:1], "json_too_deep", f"JSON may nest at most {max_depth} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return _invalid_json(location, "string_nul", "A key cannot contain a NUL character")
                pending.append((item, (*location, key)))
        else:
            pending.extend((item, (*location, index)) for index, item in enumerate(value))
    return None


def _invalid_json(location: tuple[str | int, ...], kind: str, message: str) -> Problem:
    return validation_problem([{"loc": location, "msg": message, "type": kind}])
