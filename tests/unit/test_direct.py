"""Direct routes: the endpoint's arguments, its answer and its errors, as FastAPI would give them."""

import json
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request, Response
from fastapi.routing import APIRoute, RouteContext
from pydantic import BaseModel, ConfigDict, Field

from pay.platform.direct import DirectRoute
from pay.platform.idempotency.keys import KeyReused
from pay.platform.problems import ErrorMap, Problem, ProblemSpec, install_problem_handlers


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int = Field(strict=True, ge=1)


class Receipt(BaseModel):
    amount: int
    caller: str


class Overdrawn(Exception):
    pass


ERRORS: ErrorMap = {Overdrawn: ProblemSpec(409, "insufficient-balance", "Not enough money")}


async def caller_of(request: Request) -> str:
    return request.headers.get("x-caller", "nobody")


async def loud_caller(caller: Annotated[str, Depends(caller_of)]) -> str:
    return caller.upper()


async def place(order: Order, caller: Annotated[str, Depends(loud_caller)], request: Request) -> Receipt:
    if order.amount == 13:
        raise Overdrawn("not today")
    if order.amount == 14:
        raise Problem(403, "forbidden", "Not yours")
    if order.amount == 15:
        raise KeyReused()
    if order.amount == 16:
        raise RuntimeError("a bug")
    assert request.method == "POST"
    return Receipt(amount=order.amount, caller=caller)


JSON = {"content-type": "application/json"}


def direct(path: str, endpoint: Any, status_code: int = 200) -> DirectRoute:
    """The direct route of an endpoint registered as `POST path`."""
    return DirectRoute(RouteContext(APIRoute(path, endpoint, methods=["POST"], status_code=status_code)))


async def call(
    route: DirectRoute, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    scope = {
        "type": "http",
        "method": "POST",
        "path": route.path,
        "query_string": b"",
        "headers": [(name.encode(), value.encode()) for name, value in (JSON if headers is None else headers).items()],
    }
    messages = [
        {"type": "http.request", "body": body[:3], "more_body": True},
        {"type": "http.request", "body": body[3:]},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await route.answer(scope, receive, send, ERRORS)
    start, body_message = sent
    answer_headers = {name.decode(): value.decode() for name, value in start["headers"]}
    content = body_message["body"]
    assert int(answer_headers["content-length"]) == len(content)
    return start["status"], answer_headers, json.loads(content) if content else None


ROUTE = direct("/orders", place, 201)


async def test_the_endpoint_gets_its_body_its_dependencies_and_the_request() -> None:
    status, headers, body = await call(ROUTE, b'{"amount": 5}', JSON | {"x-caller": "kim"})
    assert status == 201 and headers["content-type"] == "application/json"
    assert body == {"amount": 5, "caller": "KIM"}


@pytest.mark.parametrize("sent", [b'{"amount": 0}', b'{"amount": 1.5}', b'{"amount": 5, "extra": 1}', b"{", b""])
async def test_an_invalid_body_is_a_validation_problem_located_in_the_body(sent: bytes) -> None:
    status, headers, body = await call(ROUTE, sent)
    assert status == 422 and headers["content-type"] == "application/problem+json"
    assert body["code"] == "validation-error" and body["instance"] == "/orders"
    assert all(error["loc"][0] == "body" for error in body["errors"])


@pytest.mark.parametrize(
    ("amount", "status", "code"),
    [
        (13, 409, "insufficient-balance"),
        (14, 403, "forbidden"),
        (15, 409, "idempotency-key-reuse"),
        (16, 500, "internal-error"),
    ],
)
async def test_errors_are_the_same_problems_as_on_every_route(amount: int, status: int, code: str) -> None:
    answered, headers, body = await call(ROUTE, json.dumps({"amount": amount}).encode())
    assert (answered, body["code"]) == (status, code)
    assert headers["content-type"] == "application/problem+json"


async def test_dependencies_run_before_the_body_is_read_as_in_fastapi() -> None:
    async def signed_in(request: Request) -> str:
        if "x-caller" not in request.headers:
            raise Problem(401, "unauthenticated", "Authentication required")
        return request.headers["x-caller"]

    async def guarded(order: Order, caller: Annotated[str, Depends(signed_in)]) -> Receipt:
        return Receipt(amount=order.amount, caller=caller)

    route = direct("/guarded", guarded)
    status, _, body = await call(route, b'{"amount": "not even a number"}')
    assert (status, body["code"]) == (401, "unauthenticated")
    status, _, body = await call(route, b'{"amount": ')
    assert (status, body["code"]) == (422, "validation-error"), "JSON is decoded before dependencies run"
    status, _, body = await call(route, b'{"amount": "not even a number"}', JSON | {"x-caller": "kim"})
    assert (status, body["code"]) == (422, "validation-error")


CASES = [
    (b'{"amount": 5}', JSON),
    (b'{"amount": 5}', {"content-type": "application/merge-patch+json; charset=utf-8"}),
    (b'{"amount": 5}', {}),
    (b'{"amount": 5}', {"content-type": "text/plain"}),
    (b"\xef\xbb\xbf" + b'{"amount": 5}', JSON),
    (b'{"amount": "\xff"}', JSON),
    (b"[1]", JSON),
    (b"", JSON),
    (b'{"amount": 13}', JSON),
    (b'{"amount": 16}', JSON),
]


@pytest.mark.parametrize(("sent", "headers"), CASES)
async def test_it_answers_as_the_same_endpoint_under_fastapi(sent: bytes, headers: dict[str, str]) -> None:
    app = FastAPI()
    install_problem_handlers(app, ERRORS, lambda scope: ())
    app.post("/orders", status_code=201)(place)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        expected = await client.post("/orders", content=sent, headers=headers | {"x-caller": "kim"})
    status, answer_headers, body = await call(ROUTE, sent, headers | {"x-caller": "kim"})
    assert (status, body) == (expected.status_code, expected.json())
    assert answer_headers["content-type"] == expected.headers["content-type"]


async def test_an_endpoint_may_answer_a_response_of_its_own() -> None:
    async def replay(order: Order) -> Response:
        return Response(b'{"replayed": true}', 200, media_type="application/json")

    status, _, body = await call(direct("/again", replay), b'{"amount": 1}')
    assert (status, body) == (200, {"replayed": True})


def test_parameters_no_direct_route_can_supply_are_refused_when_the_route_is_built() -> None:
    async def with_query(order: Order, page: int) -> Receipt:
        raise AssertionError

    def not_a_coroutine(request: Request) -> str:
        return "x"

    async def with_plain_dependency(order: Order, who: Annotated[str, Depends(not_a_coroutine)]) -> Receipt:
        raise AssertionError

    async def reads_the_body(order: Order) -> str:
        return "x"

    async def with_body_dependency(order: Order, who: Annotated[str, Depends(reads_the_body)]) -> Receipt:
        raise AssertionError

    with pytest.raises(TypeError, match="page"):
        direct("/x", with_query)
    with pytest.raises(TypeError, match="only the endpoint takes the body"):
        direct("/x", with_body_dependency)
    with pytest.raises(TypeError, match="coroutine"):
        direct("/x", with_plain_dependency)


def test_a_direct_route_is_one_method_on_a_path_without_parameters() -> None:
    with pytest.raises(TypeError, match="one method"):
        DirectRoute(RouteContext(APIRoute("/orders/{order_id}", place, methods=["POST"])))
    with pytest.raises(TypeError, match="one method"):
        DirectRoute(RouteContext(APIRoute("/orders", place, methods=["POST", "PUT"])))
