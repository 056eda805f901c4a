"""The HTTP kernel on a tiny app: idempotency under concurrency, problem+json on every error path."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import create_async_engine
from structlog.testing import capture_logs

from pay.contracts.types import Amount
from pay.platform.auth import CurrentPrincipal, PrivilegedPrincipal
from pay.platform.db import idempotency_keys
from pay.platform.http import create_app
from pay.platform.idempotency.keys import KeyClaim, KeyInProgress, KeyReused, request_fingerprint
from pay.platform.idempotency.middleware import ClaimedKey
from pay.platform.idempotency.store import claim_keys
from pay.platform.kernel import Kernel
from pay.platform.problems import ProblemSpec, refusals
from pay.platform.settings import Settings

from support import provision


class Overdrawn(Exception):
    pass


ERRORS = {Overdrawn: ProblemSpec(409, "insufficient-balance", "Not enough money")}


class Charge(BaseModel):
    amount: Amount


class KeyEcho(BaseModel):
    key: str | None
    route: str


class Text(BaseModel):
    text: str
    notes: list[str] = []


@pytest.fixture(scope="module")
async def kernel_app(pg: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    # Any service's history creates the kernel's tables; the bank simulator's is the smallest.
    database_url = await provision(pg, "pay.bank", "kernel_http")
    settings = Settings(service="test", database_url=database_url, data_dir=tmp_path_factory.mktemp("k"))
    kernel = Kernel(settings, uses_broker=False, verifies_tokens=False)
    calls: list[int] = []
    router = APIRouter()

    @router.post("/charges", status_code=201, responses=refusals(ERRORS, Overdrawn))
    async def charge(body: Charge) -> dict[str, int]:
        calls.append(body.amount)
        await asyncio.sleep(0.3)
        if body.amount > 1000:
            raise Overdrawn()
        return {"charged": body.amount, "call": len(calls)}

    @router.post("/jobs", status_code=202)
    async def start_job(body: Charge, response: Response) -> dict[str, int]:
        calls.append(body.amount)
        response.headers["Location"] = f"/jobs/{len(calls)}"
        return {"job": len(calls)}

    @router.get("/jobs")
    async def count_jobs() -> dict[str, int]:
        return {"jobs": len(calls)}

    @router.post("/jobs/cancel")
    async def cancel_jobs() -> None:
        return None

    @router.get("/jobs/{job}")
    async def read_job(job: str) -> dict[str, str]:
        return {"job": job}

    @router.post("/kept")
    async def keeps_its_answer(body: Charge, claim: ClaimedKey) -> KeyEcho:
        return KeyEcho(key=claim.key if claim is not None else None, route="fastapi")

    @router.post("/direct")
    async def answered_directly(body: Charge, claim: ClaimedKey) -> KeyEcho:
        return KeyEcho(key=claim.key if claim is not None else None, route="direct")

    @router.post("/texts")
    async def take_text(body: Text) -> Text:
        return body

    @router.get("/texts/{name}")
    async def read_text(name: str, q: str = "") -> dict[str, str]:
        return {"name": name, "q": q}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("unexpected")

    @router.post("/members")
    async def for_members(body: Charge, principal: CurrentPrincipal) -> None:
        return None

    @router.get("/admin")
    async def for_admins(principal: PrivilegedPrincipal) -> None:
        return None

    app = create_app(
        kernel,
        title="test",
        routers=[router],
        direct_routes=[answered_directly],
        error_map=ERRORS,
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="module")
async def client(kernel_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=kernel_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_concurrent_retries_run_the_handler_once(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first, second = await asyncio.gather(
        client.post("/charges", json={"amount": 5}, headers=headers),
        client.post("/charges", json={"amount": 5}, headers=headers),
    )
    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [201, 409]
    busy = first if first.status_code == 409 else second
    assert busy.json()["code"] == "idempotency-key-in-progress"
    replay = await client.post("/charges", json={"amount": 5}, headers=headers)
    done = first if first.status_code == 201 else second
    assert replay.json() == done.json()


async def test_the_same_key_with_another_body_is_refused_even_in_the_same_group(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    answers = await asyncio.gather(
        client.post("/charges", json={"amount": 5}, headers=headers),
        client.post("/charges", json={"amount": 6}, headers=headers),
    )
    assert sorted(answer.status_code for answer in answers) == [201, 409]
    refused = next(answer for answer in answers if answer.status_code == 409)
    assert refused.json()["code"] == "idempotency-key-reuse"


async def test_many_keys_at_once_each_run_once_and_replay_their_own_answer(client: httpx.AsyncClient) -> None:
    keys = [str(uuid.uuid4()) for _ in range(20)]
    first = await asyncio.gather(
        *(client.post("/jobs", json={"amount": n + 1}, headers={"Idempotency-Key": key}) for n, key in enumerate(keys))
    )
    again = await asyncio.gather(
        *(client.post("/jobs", json={"amount": n + 1}, headers={"Idempotency-Key": key}) for n, key in enumerate(keys))
    )
    assert [answer.status_code for answer in first] == [202] * 20
    assert [answer.json() for answer in again] == [answer.json() for answer in first]
    assert len({answer.json()["job"] for answer in first}) == 20
    assert all(answer.headers["idempotent-replayed"] == "true" for answer in again)


async def test_an_answer_is_stored_before_the_caller_receives_it(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post("/jobs", json={"amount": 9}, headers=headers)
    again = await client.post("/jobs", json={"amount": 9}, headers=headers)
    assert again.status_code == 202 and again.json() == first.json()


async def test_a_replay_keeps_the_headers_that_are_part_of_the_answer(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post("/jobs", json={"amount": 5}, headers=headers)
    again = await client.post("/jobs", json={"amount": 5}, headers=headers)
    assert again.status_code == 202 and again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"


async def test_a_key_whose_first_request_died_is_reported_abandoned_not_run_again(
    client: httpx.AsyncClient, pg: Any
) -> None:
    key, body = str(uuid.uuid4()), b'{"amount": 7}'
    engine = create_async_engine(pg.url("kernel_http"))
    try:
        async with engine.begin() as connection:
            await connection.execute(
                idempotency_keys.insert().values(
                    scope="anonymous:/charges",
                    key=key,
                    request_hash=request_fingerprint("POST", "/charges", body),
                    created_at=datetime.now(UTC) - timedelta(minutes=3),
                )
            )
    finally:
        await engine.dispose()
    response = await client.post(
        "/charges", content=body, headers={"Idempotency-Key": key, "content-type": "application/json"}
    )
    assert response.status_code == 409 and response.json()["code"] == "idempotency-key-abandoned"


async def test_keys_claimed_in_a_transaction_vanish_with_it_and_repeat_within_a_group_as_refusals(
    client: httpx.AsyncClient, pg: Any
) -> None:
    first, again, other = KeyClaim("m:/t", "k", "h1"), KeyClaim("m:/t", "k", "h1"), KeyClaim("m:/t", "k", "h2")
    engine = create_async_engine(pg.url("kernel_http"))
    try:
        async with engine.connect() as connection:
            claimed = await claim_keys(connection, [first, again, other])
            await connection.rollback()
        assert claimed[0] is None
        assert isinstance(claimed[1], KeyInProgress) and isinstance(claimed[2], KeyReused)
        async with engine.connect() as connection:
            assert await claim_keys(connection, [first]) == [None], "a rolled-back claim leaves the key free"
            await connection.rollback()
    finally:
        await engine.dispose()


async def test_a_stored_problem_is_replayed_too(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post("/charges", json={"amount": 5000}, headers=headers)
    again = await client.post("/charges", json={"amount": 5000}, headers=headers)
    assert first.status_code == again.status_code == 409
    assert again.json()["code"] == "insufficient-balance"


@pytest.mark.parametrize("amount", [0, -1, 1.5, "10", 10**12 + 1, True, None])
async def test_amounts_must_be_whole_positive_won(client: httpx.AsyncClient, amount: object) -> None:
    response = await client.post("/charges", json={"amount": amount})
    assert response.status_code == 422
    assert response.json()["code"] == "validation-error"


@pytest.mark.parametrize("key", ["k" * 201, "über", "tab\there", ""])
async def test_a_key_must_be_short_printable_ascii(client: httpx.AsyncClient, key: str) -> None:
    response = await client.post("/charges", json={"amount": 5}, headers=[(b"Idempotency-Key", key.encode())])
    assert response.status_code == 422 and response.json()["code"] == "invalid-idempotency-key"


async def test_an_unknown_caller_is_refused_before_its_key_is_read(client: httpx.AsyncClient) -> None:
    # Issue 11's fuzzing: the key was claimed first, so a second anonymous body met 409 reuse, not 401.
    key = str(uuid.uuid4())
    for amount in (1, 2):
        response = await client.post("/members", json={"amount": amount}, headers={"Idempotency-Key": key})
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    invalid_key = await client.post("/members", json={"amount": 1}, headers={"Idempotency-Key": ""})
    assert invalid_key.status_code == 401


async def test_unknown_paths_and_methods_are_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nowhere")
    assert missing.status_code == 404 and missing.json()["code"] == "not-found"
    wrong_method = await client.get("/charges")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method-not-allowed"
    assert wrong_method.headers["content-type"] == "application/problem+json"


async def test_a_wrong_method_names_every_method_its_path_answers(client: httpx.AsyncClient) -> None:
    # Starlette names only the first route's, so an OPTIONS on a path with a GET and a POST route said GET.
    wrong_method = await client.options("/jobs")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET, POST"


async def test_a_path_without_parameters_is_answered_by_its_own_routes_only(client: httpx.AsyncClient) -> None:
    # OpenAPI's reading: `GET /jobs/cancel` is the wrong method on that path, not a job named "cancel".
    assert (await client.get("/jobs/7")).json() == {"job": "7"}
    wrong_method = await client.get("/jobs/cancel")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
    with_key = await client.get("/jobs/cancel", headers={"Idempotency-Key": str(uuid.uuid4())})
    assert with_key.status_code == 405


async def test_request_ids_are_kept_or_made(client: httpx.AsyncClient) -> None:
    kept = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    made = await client.get("/health/live")
    assert len(made.headers["x-request-id"]) == 32


@pytest.mark.parametrize("offered", [b"two words", b"caf\xc3\xa9", b"\xff\xfe", b"x" * 101, b'"quoted"'])
async def test_a_request_id_that_is_not_a_plain_token_is_replaced_not_kept(
    client: httpx.AsyncClient, offered: bytes
) -> None:
    answer = await client.get("/health/live", headers=[(b"X-Request-ID", offered)])

    assert answer.status_code == 200
    assert len(answer.headers["x-request-id"]) == 32


async def test_a_refused_request_is_logged_and_an_answered_one_only_at_debug(client: httpx.AsyncClient) -> None:
    with capture_logs() as logged:
        await client.get("/health/live")
        await client.get("/nowhere")
    assert [entry for entry in logged if entry["event"] == "request"] == [
        {"event": "request", "log_level": "info", "method": "GET", "path": "unmatched", "status": 404, "ms": ANY}
    ]


def test_a_missing_key_file_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Kernel(Settings(service="x", database_url="postgresql+asyncpg://u@/d", data_dir=tmp_path), uses_broker=False)


@pytest.mark.parametrize("path", ["/kept", "/direct"])
async def test_a_route_that_keeps_its_answer_is_handed_its_key_unclaimed(
    client: httpx.AsyncClient, pg: Any, path: str
) -> None:
    key = str(uuid.uuid4())
    first = await client.post(path, json={"amount": 1}, headers={"Idempotency-Key": key})
    again = await client.post(path, json={"amount": 1}, headers={"Idempotency-Key": key})

    assert first.json()["key"] == again.json()["key"] == key, "the handler decides; the middleware only names the key"
    engine = create_async_engine(pg.url("kernel_http"))
    try:
        async with engine.connect() as connection:
            stored = await connection.execute(idempotency_keys.select().where(idempotency_keys.c.key == key))
            assert stored.first() is None
    finally:
        await engine.dispose()


async def test_a_direct_route_takes_its_path_and_method_from_its_registered_route(client: httpx.AsyncClient) -> None:
    assert (await client.post("/direct", json={"amount": 1})).json() == {"key": None, "route": "direct"}
    assert (await client.get("/direct")).status_code == 405
    assert "/direct" in (await client.get("/openapi.json")).json()["paths"]


# Issue 11: what an outside fuzzer found. Each class is refused once, by the kernel, on every route.


@pytest.mark.parametrize("path", ["/texts", "/charges", "/direct"])
@pytest.mark.parametrize(
    "body",
    [
        '{"text": "a\\u0000b"}',
        '{"text": "ok", "notes": ["fine", "nul\\u0000"]}',
        '{"amount": 1, "te\\u0000xt": "key with a NUL"}',
    ],
)
async def test_a_nul_in_any_string_of_a_json_body_is_invalid(client: httpx.AsyncClient, path: str, body: str) -> None:
    response = await client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["code"] == "validation-error"
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_json_body_in_utf16_with_a_nul_is_invalid_too(client: httpx.AsyncClient) -> None:
    body = '{"text": "a\u0000b"}'.encode("utf-16")
    response = await client.post("/texts", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422


async def test_an_escaped_backslash_before_u0000_is_not_a_nul(client: httpx.AsyncClient) -> None:
    response = await client.post("/texts", json={"text": "C:\\u0000"})
    assert response.status_code == 200 and response.json()["text"] == "C:\\u0000"


@pytest.mark.parametrize("url", ["/texts/a%00b", "/texts/ok?q=a%00", "/texts/ok?a%00=1"])
async def test_a_nul_in_a_path_or_query_is_a_bad_request(client: httpx.AsyncClient, url: str) -> None:
    response = await client.get(url)
    assert response.status_code == 400 and response.json()["code"] == "bad-request"
    assert (await client.get("/texts/ok?q=fine")).json() == {"name": "ok", "q": "fine"}


@pytest.mark.parametrize("path", ["/texts", "/charges", "/direct", "/members", "/nowhere"])
@pytest.mark.parametrize("depth", [100, 1000, 100_000])
async def test_deeply_nested_json_is_refused_not_a_crash(client: httpx.AsyncClient, path: str, depth: int) -> None:
    body = "[" * depth + "]" * depth
    response = await client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["code"] == "validation-error"
    untyped = await client.post(path, content=body)
    assert untyped.status_code == 422 and untyped.json()["code"] == "validation-error"


async def test_json_nested_within_the_limit_still_reaches_the_route(client: httpx.AsyncClient) -> None:
    notes = {"text": "x", "notes": [], "extra": [[[[["deep"]]]]]}
    assert (await client.post("/texts", json=notes)).status_code == 200


@pytest.mark.parametrize("path", ["/charges", "/direct", "/members"])
async def test_a_body_larger_than_the_limit_is_413(client: httpx.AsyncClient, path: str) -> None:
    big = b'{"amount": 1, "pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = await client.post(path, content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["code"] == "payload-too-large"

    async def streamed() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536

    chunked = await client.post(path, content=streamed(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413 and chunked.json()["code"] == "payload-too-large"


@pytest.mark.parametrize("path", ["/charges", "/direct"])
async def test_a_wrong_method_is_405_even_with_an_idempotency_key(client: httpx.AsyncClient, path: str) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    assert (await client.post(path, json={"amount": 5}, headers=headers)).status_code in (200, 201)
    for _ in range(2):
        wrong = await client.put(path, json={"amount": 5}, headers=headers)
        assert wrong.status_code == 405 and wrong.json()["code"] == "method-not-allowed"
        assert "idempotent-replayed" not in wrong.headers


async def test_the_openapi_document_names_what_the_kernel_answers(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert paths["/members"]["post"]["responses"].keys() == {"200", "400", "401", "403", "409", "413", "422"}
    assert paths["/admin"]["get"]["responses"].keys() == {"200", "400", "401", "403"}
    for path in ("/kept", "/direct"):
        assert paths[path]["post"]["responses"].keys() == {"200", "400", "409", "413", "422", "503"}
    assert paths["/texts/{name}"]["get"]["responses"].keys() == {"200", "400", "422"}
    assert paths["/health/live"]["get"]["responses"].keys() == {"200", "400"}


async def test_the_openapi_document_adds_a_routes_own_refusals_to_the_kernels(client: httpx.AsyncClient) -> None:
    refused = (await client.get("/openapi.json")).json()["paths"]["/charges"]["post"]["responses"]["409"]
    assert refused["description"].startswith("`insufficient-balance` (Not enough money); Idempotency-Key")


async def test_every_refusal_in_the_openapi_document_is_a_problem_document(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    refusals = [
        response
        for operations in document["paths"].values()
        for operation in operations.values()
        for status, response in operation["responses"].items()
        if int(status) >= 400
    ]
    assert refusals and all(response["content"] == problem for response in refusals)
    assert document["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status", "code"]
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_every_route_that_takes_an_idempotency_key_declares_it(client: httpx.AsyncClient) -> None:
    for path, operations in (await client.get("/openapi.json")).json()["paths"].items():
        for method, operation in operations.items():
            headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
            assert headers == (["Idempotency-Key"] if method in ("post", "put") else []), (method, path)


@pytest.fixture(scope="module")
async def server(kernel_app: FastAPI) -> AsyncIterator[str]:
    """The tiny app behind a real uvicorn on a free port, to see what goes over the connection."""
    config = uvicorn.Config(kernel_app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    running = uvicorn.Server(config)
    task = asyncio.create_task(running.serve())
    while not running.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    port = running.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        await task


async def test_an_unexpected_error_is_a_500_problem_that_says_the_connection_closes(server: str) -> None:
    # Starlette raises the error again once it has answered, and uvicorn then closes the socket (an
    # in-process client must still see the error): the answer says so, and the client carries on.
    async with httpx.AsyncClient(base_url=server, limits=httpx.Limits(max_connections=1)) as one_connection:
        failed = await one_connection.get("/boom")
        after = await one_connection.get("/health/live")
    assert failed.status_code == 500 and failed.json()["code"] == "internal-error"
    assert failed.headers["content-type"] == "application/problem+json"
    assert failed.headers["connection"] == "close"
    assert after.status_code == 200


async def test_a_body_announced_too_large_is_refused_before_it_is_sent(server: str) -> None:
    host, port = server.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            b"POST /charges HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{"
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in head.lower()
