"""RFC 9457 problem+json: every error a service returns has this shape and a stable `code`."""

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

PROBLEM_TYPE_BASE = "https://pay.example/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

_log = structlog.get_logger()


@dataclass
class Problem(Exception):
    """Raised by adapters to answer with a problem document."""

    status: int
    code: str
    title: str
    detail: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProblemSpec:
    """How a domain or application exception maps onto HTTP."""

    status: int
    code: str
    title: str
    headers: Mapping[str, str] = field(default_factory=dict)


ErrorMap = Mapping[type[Exception], ProblemSpec]

# Every error answer's body, as the OpenAPI documents declare it (a refusal may add members, such as `errors`).
PROBLEM_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "required": ["type", "title", "status", "code"],
}


def refusals(error_map: ErrorMap, *kinds: type[Exception]) -> dict[int | str, dict[str, Any]]:
    """A route's OpenAPI `responses` for the mapped exceptions it may refuse with: each status, naming
    its codes. The kernel adds what it answers itself (see `pay.platform.http`)."""
    codes: dict[int, list[str]] = {}
    for kind in kinds:
        spec = error_map[kind]
        codes.setdefault(spec.status, []).append(f"`{spec.code}` ({spec.title})")
    return {status: {"description": ", ".join(named)} for status, named in sorted(codes.items())}


_STATUS_CODES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Invalid request"),
    503: ("service-unavailable", "Service unavailable"),
}


_UNEXPECTED = Problem(500, "internal-error", "Internal error", headers={"Connection": "close"})


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + problem.code,
        "title": problem.title,
        "status": problem.status,
        "code": problem.code,
    }
    if problem.detail:
        body["detail"] = problem.detail
    if instance:
        body["instance"] = instance
    body.update(problem.extra)
    return JSONResponse(body, status_code=problem.status, headers=dict(problem.headers), media_type=PROBLEM_MEDIA_TYPE)


def validation_problem(errors: Sequence[Mapping[str, Any]]) -> Problem:
    # Echoing the rejected input back could leak secrets such as passwords, so only location and reason go out.
    reasons = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in errors
    ]
    return Problem(422, "validation-error", "Invalid request", extra={"errors": reasons})


def mapped_problem(exc: Exception, error_map: ErrorMap) -> Problem | None:
    """The problem a domain or application exception maps onto, or None if it is not in the map."""
    spec = next((error_map[kind] for kind in type(exc).__mro__ if kind in error_map), None)
    if spec is None:
        return None
    return Problem(spec.status, spec.code, spec.title, str(exc) or None, spec.headers)


def install_problem_handlers(
    app: FastAPI, error_map: ErrorMap, methods_allowed: Callable[[Scope], Collection[str]]
) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(validation_problem(exc.errors()), request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code, title = _STATUS_CODES.get(exc.status_code, ("http-error", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(sorted(methods_allowed(request.scope)))
        return problem_response(Problem(exc.status_code, code, title, detail, headers), request.url.path)

    async def on_mapped(request: Request, exc: Exception) -> JSONResponse:
        problem = mapped_problem(exc, error_map)
        assert problem is not None
        return problem_response(problem, request.url.path)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("unhandled_error", path=request.url.path)
        # Starlette's guard sends this answer and then raises the error again, to the server, which
        # closes the connection; saying so lets the client open another instead of finding it dropped.
        return problem_response(_UNEXPECTED, request.url.path)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for kind in error_map:
        app.add_exception_handler(kind, on_mapped)
    app.add_exception_handler(Exception, on_unexpected)
