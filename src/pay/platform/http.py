"""The HTTP app factory every service uses: problem+json, auth, idempotency, health, metrics, request ids."""

import gc
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import cached_property, lru_cache, partial
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_flat_params
from fastapi.responses import Response
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pay.platform import tracing
from pay.platform.auth import authenticate
from pay.platform.direct import DirectRoute
from pay.platform.idempotency.middleware import UNSAFE_METHODS, IdempotencyMiddleware, claimed_key
from pay.platform.kernel import Kernel
from pay.platform.limits import RequestLimitsMiddleware
from pay.platform.problems import PROBLEM_MEDIA_TYPE, PROBLEM_SCHEMA, ErrorMap, Problem, install_problem_handlers
from pay.platform.settings import Settings

Hook = Callable[[], Awaitable[None]]
_log = structlog.get_logger()
# A caller's request id is kept only if it is a plain token: it goes into every log line and back out as a
# header, so anything else (other bytes, spaces, quotes, a megabyte) is replaced by an id of our own.
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,100}")

REQUESTS = Counter("pay_http_requests_total", "HTTP requests answered", ["service", "method", "route", "status"])
LATENCY = Histogram(
    "pay_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _request_id(offered: bytes) -> str:
    return offered.decode("ascii") if _REQUEST_ID.fullmatch(offered) else secrets.token_hex(16)


class RequestContextMiddleware:
    """Gives every request an id (kept from `X-Request-ID` or the caller's trace baggage) and measures it."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The caller's own id, else the one of the request that caused this call, else a new one.
        request_id = _request_id(
            dict(scope["headers"]).get(b"x-request-id", b"") or (tracing.current_request_id() or "").encode()
        )
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
                # Routed by now, and the request's span still open (it ends with the response's body).
                tracing.name_request(scope["method"], getattr(scope.get("route"), "path", "unmatched"))
            await send(message)

        with tracing.with_request_id(request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                seconds = time.perf_counter() - started
                path = getattr(scope.get("route"), "path", "unmatched")
                _latency(self.service, scope["method"], path).observe(seconds)
                _requests(self.service, scope["method"], path, status).inc()
                _log_answer(scope["method"], path, status, seconds)


def _log_answer(method: str, path: str, status: int, seconds: float) -> None:
    """One event per request, under its request id: refusals and failures at the default level, the rest at
    debug, so that a busy service spends nothing on them unless asked (`PAY_LOG_LEVEL=DEBUG`)."""
    level = logging.WARNING if status >= 500 else logging.INFO if status >= 400 else logging.DEBUG
    _log.log(level, "request", method=method, path=path, status=status, ms=round(seconds * 1000, 1))


# A metric's child per label values, looked up once. Routes and statuses are few; the method is the
# client's, among the ones the HTTP parser knows, and the bound keeps that so.
@lru_cache(maxsize=1024)
def _latency(service: str, method: str, path: str) -> Histogram:
    return LATENCY.labels(service, method, path)


@lru_cache(maxsize=1024)
def _requests(service: str, method: str, path: str, status: int) -> Counter:
    return REQUESTS.labels(service, method, path, str(status))


Endpoint = Callable[..., Any]


class ServiceApp(FastAPI):
    """A service's FastAPI app that answers its direct routes itself, ahead of FastAPI's own stack.

    Direct routes (`pay.platform.direct`, decision 12) still pass through the kernel's middleware
    (request ids, metrics, idempotency), the same list as every other route, and Starlette's guard
    that answers an unexpected error.
    """

    _direct: Mapping[tuple[str, str], ASGIApp] = MappingProxyType({})

    def use_kernel_middleware(self, settings: Settings) -> None:
        for middleware in reversed(self._kernel_middleware(settings)):
            self.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)

    def answer_directly(self, endpoints: Sequence[Endpoint], error_map: ErrorMap, settings: Settings) -> None:
        """Call after the problem handlers are installed: an unexpected error is answered by theirs."""
        direct: dict[tuple[str, str], ASGIApp] = {}
        for endpoint in endpoints:
            route = DirectRoute(self._route_of(endpoint))
            stack: ASGIApp = partial(self._answer, route, error_map)
            for middleware in reversed(self._kernel_middleware(settings)):
                stack = middleware.cls(stack, *middleware.args, **middleware.kwargs)
            direct[(route.method, route.path)] = ServerErrorMiddleware(
                stack, handler=self.exception_handlers[Exception]
            )
        self._direct = direct

    def keeps_answers(self, scope: Scope) -> bool:
        """Whether the request is for a route that keeps its Idempotency-Key answer in its own transaction."""
        fixed, with_parameters = self._routes_keeping_answers
        return (scope["method"], scope["path"]) in fixed or any(
            route.matches(scope)[0] is Match.FULL for route in with_parameters
        )

    def serves(self, scope: Scope) -> bool:
        """Whether a route answers the request's method on its path (else it is 404 or 405, whatever it carries)."""
        return (scope["method"], scope["path"]) in self._direct or any(
            route.matches(scope)[0] is Match.FULL for route in self._routes_on_path(scope)
        )

    def authenticates(self, scope: Scope) -> bool:
        """Whether the route that answers the request needs a known caller."""
        return any(
            route.matches(scope)[0] is Match.FULL and authenticate in _dependencies(route.dependant)
            for route in self._routes_on_path(scope)
        )

    def methods_allowed(self, scope: Scope) -> set[str]:
        """Every method the request's path answers (Starlette's 405 names only the first route's)."""
        return {method for route in self._routes_on_path(scope) for method in route.methods or ()}

    def _routes_on_path(self, scope: Scope) -> list[RouteContext]:
        """The routes of the request's path, as OpenAPI reads paths: a path without parameters is answered
        by its own routes only, never by a templated path it also fits (`/membership/{membershipId}` does
        not answer `GET /membership/login`: that is 405)."""
        on_path = [route for route in iter_route_contexts(self.routes) if route.matches(scope)[0] is not Match.NONE]
        return [route for route in on_path if not route.param_convertors] or on_path

    @cached_property
    def fixed_paths(self) -> frozenset[str]:
        """The paths without parameters. Known once every router is included: the first request comes after that."""
        return frozenset(route.path for route in self._api_routes() if route.path and not route.param_convertors)

    def _kernel_middleware(self, settings: Settings) -> list[Middleware]:
        """Outermost first: every request continues its caller's trace, gets an id and is measured, then it is
        held to the kernel's limits (before anything reads its body), then its Idempotency-Key is applied."""
        return [
            tracing.server_middleware(),
            Middleware(RequestContextMiddleware, service=settings.service),
            Middleware(RequestLimitsMiddleware, max_body_bytes=settings.max_body_bytes),
            Middleware(
                IdempotencyMiddleware,
                keeps_answers=self.keeps_answers,
                serves=self.serves,
                authenticates=self.authenticates,
            ),
        ]

    @cached_property
    def _routes_keeping_answers(self) -> tuple[set[tuple[str, str]], list[RouteContext]]:
        """The method and path of each such route on a fixed path, looked up at once; the others, matched.
        Known once every router is included: the first request comes after that."""
        keeping = [route for route in self._api_routes() if claimed_key in _dependencies(route.dependant)]
        fixed = {
            (method, route.path)
            for route in keeping
            if route.path is not None and not route.param_convertors
            for method in route.methods or ()
        }
        return fixed, [route for route in keeping if route.param_convertors]

    def _route_of(self, endpoint: Endpoint) -> RouteContext:
        found = [route for route in self._api_routes() if route.endpoint is endpoint]
        if len(found) != 1:
            raise LookupError(f"{endpoint.__qualname__} is registered {len(found)} times, not once")
        return found[0]

    def _api_routes(self) -> Iterator[RouteContext]:
        """Every endpoint's route as it is served (with the prefixes of the routers it was included by)."""
        return (route for route in iter_route_contexts(self.routes) if isinstance(route.original_route, APIRoute))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        direct = self._direct.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        if direct is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        await direct(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        """FastAPI's document, plus what the kernel answers on a route from what the route depends on."""
        if self.openapi_schema is None:
            document = super().openapi()
            for route in self._api_routes():
                operations = document.get("paths", {}).get(route.path_format, {})
                for method in route.methods or ():
                    operation = operations.get(method.lower())
                    if operation is not None:
                        _document_kernel_answers(route, method, operation)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name in _FASTAPI_VALIDATION_SCHEMAS:
                schemas.pop(name, None)
            schemas["Problem"] = PROBLEM_SCHEMA
        return self.openapi_schema or super().openapi()

    @staticmethod
    async def _answer(route: DirectRoute, error_map: ErrorMap, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = route
        await route.answer(scope, receive, send, error_map)


_IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "1 to 200 printable ASCII characters; a retry with the same key and body answers the same",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[ -~]+$"},
}
_PROBLEM_REFERENCE = {"$ref": "#/components/schemas/Problem"}
# FastAPI's own 422 body, which the kernel's problem document replaces.
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _kernel_answers(route: RouteContext, method: str, dependencies: set[Callable[..., Any]]) -> dict[int, str]:
    """The statuses the kernel itself may answer on a route, from its method and what it depends on."""
    answers = {400: "A NUL character in the path or query, or a body that cannot be read"}
    if authenticate in dependencies:
        answers[401] = "Authentication required"
        answers[403] = "The caller may not do this: another member's resource, or a role it lacks"
    if method in UNSAFE_METHODS:
        answers[409] = "Idempotency-Key in progress, reused with another request, or abandoned"
    if claimed_key in dependencies:
        answers[503] = "Service unavailable: retry with the same Idempotency-Key"
    if route.body_field is not None:
        answers[413] = "Payload too large"
    if route.body_field is not None or get_flat_params(route.dependant) or method in UNSAFE_METHODS:
        answers[422] = "Invalid request"
    return answers


def _document_kernel_answers(route: RouteContext, method: str, operation: dict[str, Any]) -> None:
    """Adds the kernel's answers to the route's own refusals, and declares every refusal a problem document."""
    responses = operation.setdefault("responses", {})
    declared: dict[int | str, dict[str, Any]] = route.responses
    for status, description in _kernel_answers(route, method, set(_dependencies(route.dependant))).items():
        own = declared.get(status, {}).get("description")
        responses[str(status)] = {"description": f"{own}; {description}" if own else description}
    for status, response in responses.items():
        if int(status) >= 400:
            response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REFERENCE}}
    if method in UNSAFE_METHODS:
        parameters = operation.setdefault("parameters", [])
        if not any(parameter.get("name") == "Idempotency-Key" for parameter in parameters):
            parameters.append(_IDEMPOTENCY_KEY_PARAMETER)


def _dependencies(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _dependencies(dependency)


async def _fixed_paths_first(request: Request) -> None:
    """A templated route never answers a path without parameters: that path's own routes do, or it is 405."""
    if request.scope["path"] in request.app.fixed_paths and request.scope["route"].param_convertors:
        raise StarletteHTTPException(405)


def _health_router(kernel: Kernel) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "live"}

    @router.get("/health/ready", responses={503: {"description": "A dependency is unreachable"}})
    async def ready() -> dict[str, object]:
        checks: dict[str, str] = {}
        try:
            async with kernel.engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
            checks["database"] = "up"
        except Exception:
            checks["database"] = "down"
        if kernel.broker is not None:
            checks["broker"] = "up" if await kernel.broker.is_ready() else "down"
        if any(state == "down" for state in checks.values()):
            raise Problem(
                503, "not-ready", "A dependency is unreachable", headers={"Retry-After": "1"}, extra={"checks": checks}
            )
        return {"status": "ready", "checks": checks}

    @router.get("/metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def create_app(
    kernel: Kernel,
    *,
    title: str,
    routers: Sequence[APIRouter],
    error_map: ErrorMap,
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    description: str = "",
    direct_routes: Sequence[Endpoint] = (),
) -> ServiceApp:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await kernel.start()
        # A start-up hook that fails (a refused setting) lets go of broker and database like a stop does.
        try:
            for hook in on_startup:
                await hook()
            # What start-up made (modules, routes, pools) lives as long as the process: the collector need
            # not walk it again on every full collection while requests are answered.
            gc.freeze()
            yield
        finally:
            await kernel.stop_work()
            for hook in on_shutdown:
                await hook()
            await kernel.close()

    app = ServiceApp(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        dependencies=[Depends(_fixed_paths_first)],
    )
    app.state.token_verifier = kernel.token_verifier
    app.state.idempotency_store = kernel.idempotency_store
    app.state.broker = kernel.broker
    install_problem_handlers(app, error_map, app.methods_allowed)
    app.include_router(_health_router(kernel))
    for router in routers:
        app.include_router(router)
    app.use_kernel_middleware(kernel.settings)
    app.answer_directly(direct_routes, error_map, kernel.settings)
    return app
