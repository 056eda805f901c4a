"""Direct routes: the hottest endpoints answered without FastAPI's per-request machinery (decision 12).

A direct route is an ordinary FastAPI endpoint: it is registered on its router as usual, so FastAPI
still documents it, answers its other methods and owns the route table, and the direct route takes
its method, path and status from that registered route. `ServiceApp` then answers the route's own
method and path itself, before FastAPI's routing and dependency solving run. What the endpoint asks
for is worked out once, when the route is built: its body (one Pydantic model, decoded and validated
in FastAPI's order), the `Request`, and `Depends(...)` on coroutine functions that need only these in
turn. Errors become the same problem documents as on every other
route.
"""

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, get_args, get_origin, get_type_hints

import structlog
from fastapi import Request, Response, params
from fastapi.routing import RouteContext
from pydantic import BaseModel, ValidationError
from starlette.types import Receive, Scope, Send

from pay.platform.bodies import read_body, says_json
from pay.platform.problems import ErrorMap, Problem, mapped_problem, problem_response, validation_problem

_log = structlog.get_logger()

Endpoint = Callable[..., Awaitable[BaseModel | Response]]

_JSON_HEADERS = [(b"content-type", b"application/json")]
_MISSING = object()


# Supplies a dependency's arguments and calls it, for one request.
Resolver = Callable[[Request], Awaitable[Any]]


@dataclass
class _Parameters:
    """What a callable asks for, worked out once: its `Request`, its body and its dependencies."""

    requests: list[str] = field(default_factory=list)
    body: tuple[str, type[BaseModel]] | None = None
    dependencies: list[tuple[str, Resolver]] = field(default_factory=list)

    @classmethod
    def of(cls, call: Callable[..., Any]) -> "_Parameters":
        """TypeError for a parameter no direct route can supply."""
        function = call if inspect.isfunction(call) or inspect.ismethod(call) else type(call).__call__
        if not inspect.iscoroutinefunction(function):
            # FastAPI would move a plain function to its thread pool; a direct route has none.
            raise TypeError(f"{_name(call)} must be a coroutine function")
        hints = get_type_hints(function, include_extras=True)
        parameters = cls()
        for name in inspect.signature(call).parameters:
            hint = hints.get(name)
            if inspect.isclass(hint) and issubclass(Request, hint):
                parameters.requests.append(name)
            elif inspect.isclass(hint) and issubclass(hint, BaseModel) and parameters.body is None:
                parameters.body = (name, hint)
            elif get_origin(hint) is Annotated and isinstance(marker := get_args(hint)[-1], params.Depends):
                assert marker.dependency is not None
                parameters.dependencies.append((name, _dependency(marker.dependency)))
            else:
                raise TypeError(f"a direct route cannot supply {name!r} of {_name(call)}")
        return parameters

    async def supplied(self, request: Request) -> dict[str, Any]:
        """Every argument but the body; dependencies run in order, before the body is validated, as in FastAPI."""
        arguments: dict[str, Any] = dict.fromkeys(self.requests, request)
        for name, dependency in self.dependencies:
            arguments[name] = await dependency(request)
        return arguments


def _dependency(call: Callable[..., Any]) -> Resolver:
    parameters = _Parameters.of(call)
    if parameters.body is not None:
        raise TypeError(f"{_name(call)} is a dependency: only the endpoint takes the body")

    async def resolve(request: Request) -> Any:
        return await call(**await parameters.supplied(request))

    return resolve


def _name(call: Callable[..., Any]) -> str:
    return repr(getattr(call, "__qualname__", call))


class DirectRoute:
    def __init__(self, route: RouteContext) -> None:
        """TypeError for a route that is not one method on a fixed path, or whose endpoint asks for more
        than a direct route supplies."""
        methods, path, endpoint = route.methods or set(), route.path, route.endpoint
        if len(methods) != 1 or path is None or route.param_convertors or endpoint is None:
            raise TypeError(f"{path}: a direct route has one method and a path without parameters")
        (self.method,) = methods
        self.path = path
        self.status_code = route.status_code or 200
        self._endpoint: Endpoint = endpoint
        self._parameters = _Parameters.of(endpoint)

    async def answer(self, scope: Scope, receive: Receive, send: Send, error_map: ErrorMap) -> None:
        try:
            request = Request(scope, receive)
            # In FastAPI's order: the JSON is decoded, then dependencies run, then the body is validated.
            decoded = _decoded(await read_body(receive), request.headers.get("content-type"))
            arguments = await self._parameters.supplied(request)
            if self._parameters.body is not None:
                name, model = self._parameters.body
                arguments[name] = _validated(model, decoded)
            answer = await self._endpoint(**arguments)
        except Exception as error:
            await problem_response(self._problem(error, error_map), self.path)(scope, receive, send)
            return
        if isinstance(answer, Response):
            await answer(scope, receive, send)
            return
        content = answer.model_dump_json(by_alias=True).encode()
        await send(
            {
                "type": "http.response.start",
                "status": self.status_code,
                "headers": [*_JSON_HEADERS, (b"content-length", str(len(content)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": content})

    def _problem(self, error: Exception, error_map: ErrorMap) -> Problem:
        if isinstance(error, Problem):
            return error
        mapped = mapped_problem(error, error_map)
        if mapped is None:
            _log.exception("unhandled_error", path=self.path)
            return Problem(500, "internal-error", "Internal error")
        return mapped


def _decoded(body: bytes, content_type: str | None) -> Any:
    """The body as FastAPI hands it to validation: JSON decoded when it says it is JSON, else the bytes."""
    if not body:
        return _MISSING
    if not says_json(content_type or ""):
        return body
    try:
        return json.loads(body)
    except json.JSONDecodeError as error:
        raise validation_problem(
            [{"type": "json_invalid", "loc": ("body", error.pos), "msg": "JSON decode error"}]
        ) from None
    except ValueError:
        raise Problem(400, "bad-request", "Bad request", "There was an error parsing the body") from None


def _validated(model: type[BaseModel], decoded: Any) -> BaseModel:
    if decoded is _MISSING:
        raise validation_problem([{"type": "missing", "loc": ("body",), "msg": "Field required"}])
    try:
        return model.model_validate(decoded, from_attributes=True)
    except ValidationError as invalid:
        raise validation_problem(
            [{**error, "loc": ("body", *error["loc"])} for error in invalid.errors(include_input=False)]
        ) from None
