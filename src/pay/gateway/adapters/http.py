"""The gateway's HTTP face: every contract path forwarded to its service, after the gateway's own refusals
(a malformed path, a path no public service answers, a client over its allowance), with security headers on
every answer."""

from collections.abc import Mapping

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pay.gateway.adapters.upstream import Upstreams
from pay.gateway.domain import routes
from pay.gateway.domain.allowance import Allowance
from pay.gateway.domain.routes import Limit
from pay.platform.auth import TokenVerifier, bearer_principal
from pay.platform.problems import Problem, problem_response

FORWARDED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

MALFORMED = Problem(400, "bad-request", "Bad request", "The path has an empty, dot or encoded separator segment")
NOT_ROUTED = Problem(404, "not-found", "Not found", "No service of the platform answers this path")

# What a browser should do with every answer of the platform: never guess a type, never frame it, never leak the
# page's address onward, load scripts and styles only from this origin.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(SECURITY_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Forwarder:
    """The gateway's paths: a malformed one is refused, one a service answers is passed on after the client's
    allowance is counted, and any other is the gateway's own (the console, reconcile, health) or a 404.

    Pure ASGI in front of the gateway's own routes: a forwarded call, nearly every call, pays for no routing and
    exception machinery but its own, which is most of what the gateway costs besides the hop itself.
    """

    def __init__(
        self, app: ASGIApp, upstreams: Upstreams, allowances: Mapping[Limit, Allowance], verifier: TokenVerifier
    ) -> None:
        self.app = app
        self._upstreams = upstreams
        self._allowances = allowances
        self._verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and routes.is_malformed(scope["raw_path"]):
            await problem_response(MALFORMED, scope["path"])(scope, receive, send)
            return
        found = routes.route(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        # The kernel's request log and metrics name a request by its route's path, read from the scope.
        scope["route"] = found
        request = Request(scope, receive)
        try:
            if found.limit is not None:
                self._count(found.limit, request)
            response = await self._upstreams.forward(found.service, request)
        except Problem as problem:
            response = problem_response(problem, scope["path"])
        await response(scope, receive, send)

    def _count(self, limit: Limit, request: Request) -> None:
        wait = self._allowances[limit].take(self._client_of(limit, request))
        if wait is not None:
            raise Problem(
                429,
                "too-many-requests",
                "Too many requests",
                f"This client's {limit.value} calls are over their allowance for now",
                headers={"Retry-After": str(max(1, round(wait + 0.5)))},
            )

    def _client_of(self, limit: Limit, request: Request) -> str:
        """A member by its verified token (a forged one cannot buy a fresh allowance), else the address it calls
        from. Logins count by address: whoever guesses passwords has no token yet."""
        address = f"address:{request.client.host if request.client else ''}"
        if limit is Limit.LOGIN:
            return address
        principal = bearer_principal(request.scope, self._verifier)
        return f"member:{principal.subject}" if principal is not None else address
