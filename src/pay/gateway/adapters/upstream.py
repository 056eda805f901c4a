"""Forwarding a request to the service that answers it, and its answer back, both streamed.

Hop-by-hop headers stay on their own hop (RFC 9110 §7.6.1). The request id travels on, so a request is one
id in every service's logs; the caller's address travels as `X-Forwarded-For`. A live stream
(`Accept: text/event-stream`) has no read deadline, and each of its chunks is passed on as it arrives.
"""

from collections.abc import Mapping

import httpx
import structlog
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse

from pay.platform.problems import Problem

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
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._stream_timeout = httpx.Timeout(None, connect=connect_timeout)
        # One pool for all services; no retries: a request that moves money is retried by its client, with its
        # Idempotency-Key, never behind its back.
        self._client = httpx.AsyncClient(timeout=self._timeout, limits=httpx.Limits(max_connections=512))

    async def forward(self, service: str, request: Request) -> StreamingResponse:
        streaming = "text/event-stream" in request.headers.get("accept", "")
        outgoing = self._client.build_request(
            request.method,
            self._base_urls[service] + request.scope["raw_path"].decode("latin-1"),
            params=request.scope["query_string"].decode("latin-1") or None,
            headers=_request_headers(request),
            content=await request.body(),
            timeout=self._stream_timeout if streaming else self._timeout,
        )
        try:
            answer = await self._client.send(outgoing, stream=True)
        except httpx.TransportError as error:
            raise ServiceUnavailable(service) from error
        response = StreamingResponse(
            answer.aiter_raw(), status_code=answer.status_code, background=BackgroundTask(answer.aclose)
        )
        # Raw pairs, not a mapping: a header a service sends twice (`Set-Cookie`) goes on twice.
        response.raw_headers = [
            (name, value)
            for name, value in answer.headers.raw
            if _passes(name.decode("latin-1")) and name.lower().decode("latin-1") not in _SET_HERE
        ]
        return response

    async def aclose(self) -> None:
        await self._client.aclose()


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
    headers.append(("x-request-id", structlog.contextvars.get_contextvars()["request_id"]))
    headers.append(("x-forwarded-for", f"{forwarded_for}, {client}" if forwarded_for else client))
    return headers
