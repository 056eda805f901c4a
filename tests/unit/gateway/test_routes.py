"""Which service answers a path, which calls count against a client's allowance, which paths are refused."""

import pytest

from pay.gateway.domain import routes
from pay.gateway.domain.allowance import Allowance
from pay.gateway.domain.routes import Limit


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/membership/login", "membership"),
        ("/banking/account/m-1/balance", "banking"),
        ("/money/m-1", "money"),
        ("/money/query/get-money-sum-by-address/x", "money-query"),
        ("/money/aggregation/get-money-sum-by-address", "money-aggregation"),
        ("/remittance/request", "remittance"),
        ("/payment/p-1/cancel", "payment"),
        ("/franchise/f-1", "franchise"),
        ("/settlement/start", "settlement"),
        ("/notifications/stream", "notification"),
    ],
)
def test_each_contract_prefix_goes_to_its_service(path: str, service: str) -> None:
    found = routes.route("GET", path)
    assert found is not None and found.service == service


# The gateway's own paths (the console's page and files, `/reconcile`) are among them: no service shadows them.
@pytest.mark.parametrize(
    "path",
    ["/bank/accounts", "/", "/moneyx/1", "/membershipx", "/health-check", "/console/app.js", "/reconcile"],
)
def test_the_bank_simulator_and_unknown_paths_are_not_routed(path: str) -> None:
    assert routes.route("GET", path) is None


@pytest.mark.parametrize(
    ("method", "path", "limit"),
    [
        ("POST", "/membership/login", Limit.LOGIN),
        ("POST", "/money/increase", Limit.MONEY_MOVING),
        ("POST", "/money/transfer", Limit.MONEY_MOVING),
        ("POST", "/remittance/request", Limit.MONEY_MOVING),
        ("POST", "/payment/request", Limit.MONEY_MOVING),
        ("POST", "/payment/p-1/cancel", Limit.MONEY_MOVING),
        ("POST", "/settlement/start", Limit.MONEY_MOVING),
        ("GET", "/money/m-1", None),
        ("POST", "/money/member-money", None),
        ("POST", "/membership/register", None),
        ("GET", "/membership/login", None),
    ],
)
def test_logins_and_money_moving_calls_count_against_an_allowance(method: str, path: str, limit: Limit | None) -> None:
    found = routes.route(method, path)
    assert found is not None and found.limit == limit


@pytest.mark.parametrize(
    "raw_path",
    [b"/money/../bank/accounts", b"/money/./m-1", b"//money/m-1", b"/money/%2e%2e/bank", b"/money%2Fx", b"/money\\x"],
)
def test_paths_that_may_mean_another_after_decoding_are_malformed(raw_path: bytes) -> None:
    assert routes.is_malformed(raw_path)


@pytest.mark.parametrize("raw_path", [b"/money/m-1", b"/money/", b"/money/query/get-money-sum-by-address/%EA%B0%95"])
def test_ordinary_paths_are_not_malformed(raw_path: bytes) -> None:
    assert not routes.is_malformed(raw_path)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_may_burst_up_to_its_allowance_then_waits_for_the_refill() -> None:
    clock = Clock()
    allowance = Allowance(per_minute=3, clock=clock)

    assert [allowance.take("a") for _ in range(3)] == [None, None, None]
    wait = allowance.take("a")
    assert wait == pytest.approx(20.0), "one call back every 20 s at 3 a minute"
    assert allowance.take("b") is None, "another client has its own allowance"

    clock.now += 20.0
    assert allowance.take("a") is None
    assert allowance.take("a") is not None
