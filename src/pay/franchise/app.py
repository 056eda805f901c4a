"""Composition root: wires franchise's adapters into its use cases and builds the ASGI app."""

from datetime import UTC, datetime
from functools import partial

from fastapi import FastAPI

from pay.contracts.clients import BankingClient, MembershipClient
from pay.franchise.adapters.clients import BankingAccounts, MembershipOwners
from pay.franchise.adapters.db import FranchiseUnitOfWork
from pay.franchise.adapters.http import ERRORS, router
from pay.franchise.application import use_cases
from pay.franchise.settings import FranchiseSettings
from pay.platform import http
from pay.platform.kernel import Kernel


def create_app(settings: FranchiseSettings | None = None) -> FastAPI:
    settings = settings or FranchiseSettings()
    if settings.service_token is None:
        raise ValueError("franchise asks membership and banking with a service credential: set PAY_SERVICE_TOKEN")
    kernel = Kernel(settings)
    token, timeout = settings.service_token.get_secret_value(), settings.http_timeout_seconds
    membership = MembershipClient(settings.url_of("membership"), token=token, timeout=timeout)
    banking = BankingClient(settings.url_of("banking"), token=token, timeout=timeout)
    deps = use_cases.Dependencies(
        uow=partial(FranchiseUnitOfWork, kernel.engine, kernel.on_outbox_commit),
        owners=MembershipOwners(membership),
        bank_accounts=BankingAccounts(banking),
        clock=partial(datetime.now, UTC),
    )

    async def close_clients() -> None:
        for client in (membership, banking):
            await client.aclose()

    app = http.create_app(
        kernel,
        title="Pay franchise",
        description="Merchants of corporate members, their settlement accounts and fee rates.",
        routers=[router],
        error_map=ERRORS,
        on_shutdown=[close_clients],
    )
    app.state.franchise = deps
    return app
