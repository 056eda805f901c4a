"""Direct routes: the hottest endpoints answered without FastAPI's per-request machinery (decision 12).

A direct route is an ordinary FastAPI endpoint: it is registered on its router as usual, so FastAPI
still documents it, answers its other methods and owns the route table. `ServiceApp` then answers
the route's own method and path itself, before FastAPI's middleware, routing and dependency solving
run. What the endpoint asks for is worked out once, when the route is built: its body (one Pydantic
model, read with Pydantic's JSON parser), the `Request`, and `Depends(...)` on coroutine functions
that need only these in turn. Errors become the same problem documents as on every other route.
"""

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, get_args, get_origin, get_type_hints

import structlog
from fastapi import Request, Response, params
from pydantic import BaseModel, ValidationError
from starlette.types import Receive, Scope, Send

from pay.platform.idempotency import KeyRefused, read_body
from pay.platform.problems import ErrorMap, Problem, mapped_problem, problem_response, validation_problem

_log = structlog.get_logger()

Endpoint = Callable[..., Awaitable[BaseModel | Response]]

_JSON_HEADERS = [(b"content-type", b"application/json")]


# Supplies a callable's arguments and calls it, for one request and its parsed body.
Resolver = Callable[[Request, BaseModel | None], Awaitable[Any]]


def _resolver(call: Callable[..., Any]) -> Resolver:
    """How to call `call` for a request, worked out once; TypeError for a parameter no route can supply."""
    function = call if inspect.isfunction(call) or inspect.ismethod(call) else type(call).__call__
    if not inspect.iscoroutinefunction(function):
        # FastAPI would move a plain function to its thread pool; a direct route has none.
        raise TypeError(f"{getattr(call, '__qualname__', call)!r} must be a coroutine function")
    hints = get_type_hints(function, include_extras=True)
    requests: list[str] = []
    bodies: list[str] = []
    dependencies: list[tuple[str, Resolver]] = []
    for name in inspect.signature(call).parameters:
        hint = hints.get(name)
        if inspect.isclass(hint) and issubclass(Request, hint):
            requests.append(name)
        elif _is_body(hint):
            bodies.append(name)
        elif get_origin(hint) is Annotated and isinstance(marker := get_args(hint)[-1], params.Depends):
            assert marker.dependency is not None
            dependencies.append((name, _resolver(marker.dependency)))
        else:
            raise TypeError(f"a direct route cannot supply {name!r} of {getattr(call, '__qualname__', call)!r}")

    async def resolve(request: Request, body: BaseModel | None) -> Any:
        arguments: dict[str, Any] = dict.fromkeys(requests, request)
        arguments.update(dict.fromkeys(bodies, body))
        for name, dependency in dependencies:
            arguments[name] = await dependency(request, body)
        return await call(**arguments)

    return resolve


def _is_body(hint: Any) -> bool:
    return inspect.isclass(hint) and issubclass(hint, BaseModel)


def _body_model(endpoint: Endpoint) -> type[BaseModel] | None:
    bodies = [hint for name, hint in get_type_hints(endpoint).items() if name != "return" and _is_body(hint)]
    if len(bodies) > 1:
        raise TypeError(f"{endpoint.__qualname__} takes more than one body")
    return bodies[0] if bodies else None


class DirectRoute:
    def __init__(
        self, method: str, path: str, endpoint: Endpoint, status_code: int = 200, *, keeps_answers: bool = False
    ) -> None:
        """`keeps_answers`: the endpoint keeps its Idempotency-Key answers itself (`KeptInTransaction`)."""
        self.method = method
        self.path = path
        self.status_code = status_code
        self.keeps_answers = keeps_answers
        self._call = _resolver(endpoint)
        self._body_model = _body_model(endpoint)

    async def answer(self, scope: Scope, receive: Receive, send: Send, error_map: ErrorMap) -> None:
        try:
            body = await read_body(receive)
            answer = await self._call(Request(scope, receive), self._parse(body))
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
        if isinstance(error, KeyRefused):
            return error.problem
        mapped = mapped_problem(error, error_map)
        if mapped is None:
            _log.exception("unhandled_error", path=self.path)
            return Problem(500, "internal-error", "Internal error")
        return mapped

    def _parse(self, body: bytes) -> BaseModel | None:
        if self._body_model is None:
            return None
        try:
            return self._body_model.model_validate_json(body)
        except ValidationError as invalid:
            raise validation_problem(
                [{**error, "loc": ("body", *error["loc"])} for error in invalid.errors(include_input=False)]
            ) from None
