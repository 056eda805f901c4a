"""Composition root: wires money aggregation's clients into its use case and builds the ASGI app."""

from fastapi import FastAPI

from pay.contracts.clients import MembershipClient, MoneyClient
from pay.money_aggregation.adapters.clients import MembershipRegionMembers, MoneyBalances
from pay.money_aggregation.adapters.http import ERRORS, router
from pay.money_aggregation.application import use_cases
from pay.money_aggregation.settings import MoneyAggregationSettings
from pay.platform import http
from pay.platform.kernel import Kernel


def create_app(settings: MoneyAggregationSettings | None = None) -> FastAPI:
    settings = settings or MoneyAggregationSettings()
    if settings.service_token is None:
        raise ValueError("money aggregation asks membership and money with a service credential: set PAY_SERVICE_TOKEN")
    kernel = Kernel(settings)
    token, timeout = settings.service_token.get_secret_value(), settings.http_timeout_seconds
    membership = MembershipClient(settings.url_of("membership"), token=token, timeout=timeout)
    money = MoneyClient(settings.url_of("money"), token=token, timeout=timeout)
    deps = use_cases.Dependencies(
        members=MembershipRegionMembers(membership),
        balances=MoneyBalances(money),
        page_size=settings.aggregation_page_size,
        concurrency=settings.aggregation_concurrency,
    )

    async def close_clients() -> None:
        for client in (membership, money):
            await client.aclose()

    app = http.create_app(
        kernel,
        title="Pay money aggregation",
        description="The money of a region's members, summed on demand from membership and money.",
        routers=[router],
        error_map=ERRORS,
        on_shutdown=[close_clients],
    )
    app.state.money_aggregation = deps
    return app
