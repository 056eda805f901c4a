"""Composition root: wires the gateway's forwarder to the services' addresses, its console and its reconcile
endpoint, and builds the ASGI app.

The gateway keeps no state of its own besides the allowances, so it has no database and no broker: it is
ready as soon as it listens, and a service that is down makes only that service's paths answer 503.
"""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from pay.gateway.adapters.console import CONSOLE_PREFIX, ConsoleFiles
from pay.gateway.adapters.http import FORWARDED_METHODS, Forwarder, SecurityHeadersMiddleware
from pay.gateway.adapters.reconcile import ERRORS, reconcile_router
from pay.gateway.adapters.upstream import Upstreams
from pay.gateway.domain.allowance import Allowance
from pay.gateway.domain.routes import SERVICES, Limit
from pay.gateway.settings import GatewaySettings
from pay.platform.auth import TokenVerifier, read_public_key
from pay.platform.http import RequestContextMiddleware
from pay.platform.limits import RequestLimitsMiddleware
from pay.platform.problems import install_problem_handlers


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    upstreams = Upstreams(
        {service: settings.url_of(service) for service in SERVICES},
        connect_timeout=settings.upstream_connect_timeout_seconds,
        timeout=settings.upstream_timeout_seconds,
    )
    allowances = {
        Limit.LOGIN: Allowance(settings.login_attempts_per_minute, time.monotonic),
        Limit.MONEY_MOVING: Allowance(settings.money_moving_calls_per_minute, time.monotonic),
    }
    verifier = TokenVerifier(read_public_key(settings.keys_dir, settings.jwt_public_key))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await upstreams.aclose()

    app = FastAPI(title="Pay gateway", lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.state.token_verifier = verifier
    install_problem_handlers(app, ERRORS, lambda _: FORWARDED_METHODS)

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "live"}

    @app.get("/health/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # The gateway's own paths first; every other path is a service's.
    console = ConsoleFiles()
    app.add_route("/", console.page, methods=["GET", "HEAD"])
    app.mount(CONSOLE_PREFIX, console)
    app.include_router(reconcile_router(settings))
    app.add_route("/{path:path}", Forwarder(upstreams, allowances, verifier).forward, methods=FORWARDED_METHODS)
    # Outermost last: every answer, refusals included, has an id and the security headers.
    app.add_middleware(RequestLimitsMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestContextMiddleware, service=settings.service)
    return app
