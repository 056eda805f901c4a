"""The gateway in front of stand-in services: each path to its service with the request id kept, live streams
passed on as they come, a service that is down answering 503 for its own paths only, and the gateway's own
refusals (malformed paths, the bank simulator, big bodies, clients over their allowance)."""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from pay.gateway.adapters.upstream import WHOLE_ANSWER_BYTES
from pay.gateway.app import create_app
from pay.gateway.domain.routes import SERVICES
from pay.gateway.settings import GatewaySettings
from pay.platform import auth
from pay.platform.supervisor import free_port

from support import listening, token_for

DOWN = "payment"
BIG = b"0123456789abcdef" * (WHOLE_ANSWER_BYTES // 16 + 1)


def stand_in() -> FastAPI:
    """Every service at once: its base URL names it (`/<service>` in front of the path), and it answers
    what it was asked, or a live stream of two events a second apart."""
    app = FastAPI()

    @app.get("/{service}/notifications/stream")
    async def stream() -> StreamingResponse:
        async def events() -> AsyncIterator[bytes]:
            yield b"id: 1\ndata: first\n\n"
            await asyncio.sleep(1.5)
            yield b"id: 2\ndata: second\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.get("/{service}/{prefix}/export/with-length")
    async def export_with_length() -> Response:
        return Response(BIG, media_type="text/csv")

    @app.get("/{service}/{prefix}/export/in-chunks")
    async def export_in_chunks() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(BIG), 10_000):
                yield BIG[start : start + 10_000]

        return StreamingResponse(chunks(), media_type="text/csv")

    @app.post("/{service}/{prefix}/session")
    async def session() -> Response:
        response = Response(status_code=204)
        response.set_cookie("session", "the-callers-own")
        return response

    @app.api_route("/{service}/{path:path}", methods=["GET", "POST"])
    async def echo(service: str, path: str, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "service": service,
                "path": f"/{path}",
                "query": request.url.query,
                "body": (await request.body()).decode(),
                "requestId": request.headers.get("x-request-id"),
                "forwardedFor": request.headers.get("x-forwarded-for"),
                "authorization": request.headers.get("authorization"),
                "cookie": request.headers.get("cookie"),
            },
            headers={"x-service": service},
        )

    return app


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gateway")
    auth.ensure_signing_keys(path / "keys")
    return path


@pytest.fixture(scope="module")
async def gateway(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with listening(stand_in()) as services_url:
        urls = {service: f"{services_url}/{service}" for service in SERVICES}
        urls[DOWN] = f"http://127.0.0.1:{free_port()}"
        settings = GatewaySettings(
            data_dir=data_dir, service_urls=urls, login_attempts_per_minute=3, money_moving_calls_per_minute=3
        )
        # Over a real socket, as clients call it: a live stream must reach them chunk by chunk.
        async with listening(create_app(settings)) as gateway_url, httpx.AsyncClient(base_url=gateway_url) as client:
            yield client


def bearer(data_dir: Path, member: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(data_dir, member, auth.Role.MEMBER)}"}


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/membership/m-1", "membership"),
        ("/money/m-1", "money"),
        ("/money/query/status", "money-query"),
        ("/franchise/f-1", "franchise"),
        ("/notifications", "notification"),
    ],
)
async def test_a_path_reaches_its_service_with_query_body_and_credentials(
    gateway: httpx.AsyncClient, data_dir: Path, path: str, service: str
) -> None:
    headers = bearer(data_dir, "m-1")
    response = await gateway.post(f"{path}?cursor=c1", content=b'{"a": 1}', headers=headers)

    assert response.status_code == 200, response.text
    seen = response.json()
    assert (seen["service"], seen["path"], seen["query"], seen["body"]) == (service, path, "cursor=c1", '{"a": 1}')
    assert seen["authorization"] == headers["Authorization"]
    assert response.headers["x-service"] == service


async def test_the_request_id_is_kept_or_made_and_is_the_same_in_the_service_and_the_answer(
    gateway: httpx.AsyncClient,
) -> None:
    kept = await gateway.get("/money/m-1", headers={"X-Request-ID": "trace-me-1"})
    made = await gateway.get("/money/m-1")

    assert kept.json()["requestId"] == kept.headers["x-request-id"] == "trace-me-1"
    assert made.json()["requestId"] == made.headers["x-request-id"] != ""
    assert made.json()["forwardedFor"]


async def test_a_request_id_that_could_inject_into_logs_or_headers_is_replaced(gateway: httpx.AsyncClient) -> None:
    answer = await gateway.get("/money/m-1", headers=[(b"X-Request-ID", b"x\xff forged=1")])

    assert answer.status_code == 200
    assert answer.json()["requestId"] == answer.headers["x-request-id"] != "x\xff forged=1"


async def test_a_live_stream_passes_each_event_on_as_it_comes(gateway: httpx.AsyncClient) -> None:
    async with gateway.stream("GET", "/notifications/stream", headers={"Accept": "text/event-stream"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        chunks = response.aiter_text()
        first = await asyncio.wait_for(anext(chunks), timeout=1.0)
        assert "data: first" in first, "the first event arrives before the stream's second one is written"
        rest = "".join([chunk async for chunk in chunks])
    assert "data: second" in rest


@pytest.mark.parametrize("kind", ["with-length", "in-chunks"])
async def test_an_answer_too_big_to_hold_arrives_whole(gateway: httpx.AsyncClient, kind: str) -> None:
    response = await gateway.get(f"/settlement/export/{kind}")

    assert response.status_code == 200
    assert response.content == BIG


async def test_a_cookie_a_service_sets_reaches_its_caller_and_no_one_else(gateway: httpx.AsyncClient) -> None:
    set_cookie = await gateway.post("/membership/session")
    # A client without a jar, as the next caller is to the gateway.
    async with httpx.AsyncClient(base_url=str(gateway.base_url)) as another:
        seen = (await another.get("/membership/m-2")).json()

    assert "session=the-callers-own" in set_cookie.headers["set-cookie"]
    assert seen["cookie"] is None


async def test_a_service_that_is_down_answers_503_for_its_paths_only(gateway: httpx.AsyncClient) -> None:
    down = await gateway.get("/payment/p-1")
    up = await gateway.get("/money/m-1")

    assert down.status_code == 503
    assert down.headers["content-type"] == "application/problem+json"
    assert down.headers["retry-after"] == "1"
    assert down.json()["code"] == "service-unavailable"
    assert up.status_code == 200


@pytest.mark.parametrize("path", ["/bank/accounts", "/admin", "/moneyx", "/consoles"])
async def test_the_bank_simulator_and_other_paths_no_service_answers_are_404(
    gateway: httpx.AsyncClient, path: str
) -> None:
    response = await gateway.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not-found"


@pytest.mark.parametrize("path", ["/money/%2e%2e/bank/accounts", "/money//m-1", "/money/m-1%2F..%2F..%2Fbank"])
async def test_a_path_that_could_mean_another_is_refused(gateway: httpx.AsyncClient, path: str) -> None:
    response = await gateway.get(path)
    assert response.status_code == 400
    assert response.json()["code"] == "bad-request"


async def test_a_body_over_the_limit_is_refused_before_any_service_reads_it(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/money/transfer", content=b"x" * (64 * 1024 + 1))
    assert response.status_code == 413
    assert response.json()["code"] == "payload-too-large"


async def test_logins_over_the_allowance_are_429_with_retry_after(gateway: httpx.AsyncClient) -> None:
    answers = [await gateway.post("/membership/login", json={"email": "a@b.c", "password": "x"}) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "too-many-requests"
    assert 1 <= int(refused.headers["retry-after"]) <= 20


async def test_money_moving_calls_count_per_member_and_a_forged_token_buys_no_fresh_allowance(
    gateway: httpx.AsyncClient, data_dir: Path
) -> None:
    alice, bob = bearer(data_dir, "alice"), bearer(data_dir, "bob")
    alice_calls = [(await gateway.post("/money/transfer", json={}, headers=alice)).status_code for _ in range(4)]
    bob_calls = [(await gateway.post("/money/transfer", json={}, headers=bob)).status_code for _ in range(3)]
    forged = [
        (await gateway.post("/money/transfer", json={}, headers={"Authorization": f"Bearer forged-{n}"})).status_code
        for n in range(4)
    ]

    assert alice_calls == [200, 200, 200, 429]
    assert bob_calls == [200, 200, 200]
    assert forged == [200, 200, 200, 429], "unverifiable tokens all count as the caller's address"
    assert (await gateway.get("/money/alice", headers=alice)).status_code == 200, "reading is not limited"


async def test_every_answer_carries_the_security_headers(gateway: httpx.AsyncClient) -> None:
    for response in (await gateway.get("/money/m-1"), await gateway.get("/bank/accounts")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "default-src 'self'" in response.headers["content-security-policy"]


async def test_a_refusal_is_a_problem_document(gateway: httpx.AsyncClient) -> None:
    body = json.loads((await gateway.get("/bank/accounts")).content)
    assert {"type", "title", "status", "code"} <= body.keys()
