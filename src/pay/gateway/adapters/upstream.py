"""Forwarding a request to the service that answers it, and its answer back.

Hop-by-hop headers stay on their own hop (RFC 9110 §7.6.1). The request id travels on, so a request is one
id in every service's logs; the caller's address travels as `X-Forwarded-For`. A live stream
(`Accept: text/event-stream`) has no read deadline. An answer of known, small length — the platform's JSON
documents — is read whole and passed on as one body; any other (a live stream, a long export) is passed on
chunk by chunk as it arrives.

The client is aiohttp's (decision 34): the gateway is CPU-bound, and httpx's pool looks at every open
connection on each request.
"""

from collections.abc import Mapping

import aiohttp
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from yarl import URL

from pay.platform.problems import Problem
from pay.platform.tracing import current_request_id

# Larger answers are streamed, so that the gateway never holds a big one in memory.
WHOLE_ANSWER_BYTES = 256 * 1024

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Made anew for the outgoing request, from its target and its body.
_REQUEST_OWN = frozenset({"host", "content-length"})
# Passed on in the gateway's own words: the request id it logs under, the caller's address appended.
_REPLACED = frozenset({"x-request-id", "x-forwarded-for"})
# Set by the gateway's own stack on the way out; a service's copy would make them twice.
_SET_HERE = frozenset({"x-request-id", "date", "server"})
# The client's own defaults would speak for a caller who said nothing: a request carries only what it came with.
_NOT_ADDED = frozenset({"User-Agent", "Accept", "Accept-Encoding"})


class ServiceUnavailable(Problem):
    def __init__(self, service: str) -> None:
        super().__init__(
            503,
            "service-unavailable",
            "Service unavailable",
            f"{service} does not answer now; other services are not affected",
            headers={"Retry-After": "1"},
        )


class Upstreams:
    def __init__(self, base_urls: Mapping[str, str], *, connect_timeout: float, timeout: float) -> None:
        self._base_urls = base_urls
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout)
        self._stream_timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout)
        self._session: aiohttp.ClientSession | None = None

    @property
    def _client(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running loop, as aiohttp requires.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                # One pool for all services.
                connector=aiohttp.TCPConnector(limit=512),
                # Members' cookies are theirs: a shared jar would hand one member's to the next.
                cookie_jar=aiohttp.DummyCookieJar(),
                # Bodies pass as the service encoded them.
                auto_decompress=False,
                skip_auto_headers=_NOT_ADDED,
            )
        return self._session

    async def forward(self, service: str, request: Request) -> Response:
        streaming = "text/event-stream" in request.headers.get("accept", "")
        target = self._base_urls[service] + request.scope["raw_path"].decode("latin-1")
        if query := request.scope["query_string"]:
            target += "?" + query.decode("latin-1")
        try:
            # No retries: a request that moves money is retried by its client, with its Idempotency-Key, never
            # behind its back.
            answer = await self._client.request(
                request.method,
                URL(target, encoded=True),
                headers=_request_headers(request),
                data=await request.body(),
                timeout=self._stream_timeout if streaming else self._timeout,
                allow_redirects=False,
            )
            length = answer.content_length
            if not streaming and length is not None and length <= WHOLE_ANSWER_BYTES:
                response = Response(await answer.read(), status_code=answer.status)
            else:
                response = StreamingResponse(
                    answer.content.iter_any(), status_code=answer.status, background=BackgroundTask(answer.release)
                )
        except (TimeoutError, aiohttp.ClientError) as error:
            raise ServiceUnavailable(service) from error
        # Raw pairs, not a mapping: a header a service sends twice (`Set-Cookie`) goes on twice.
        response.raw_headers = [
            (name, value)
            for name, value in answer.raw_headers
            if _passes(name.decode("latin-1")) and name.lower().decode("latin-1") not in _SET_HERE
        ]
        return response

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def _passes(name: str) -> bool:
    return name.lower() not in _HOP_BY_HOP


def _request_headers(request: Request) -> list[tuple[str, str]]:
    headers = [
        (name, value)
        for name, value in request.headers.items()
        if _passes(name) and name not in _REQUEST_OWN and name not in _REPLACED
    ]
    client = request.client.host if request.client else ""
    forwarded_for = request.headers.get("x-forwarded-for")
    headers.append(("x-request-id", current_request_id() or ""))
    headers.append(("x-forwarded-for", f"{forwarded_for}, {client}" if forwarded_for else client))
    return headers
