"""Composition root of the bank simulator: wires PostgreSQL storage and the HTTP API together."""

from fastapi import FastAPI

from pay.bank.adapters.db import BankUnitOfWork
from pay.bank.adapters.http import ERRORS, FaultInjectionMiddleware, FaultSwitch, bank_router, faults_router
from pay.bank.application import use_cases
from pay.bank.domain.model import AccountKey
from pay.bank.settings import BankSettings
from pay.platform.http import create_app as create_service_app
from pay.platform.kernel import Kernel


def create_app(settings: BankSettings | None = None) -> FastAPI:
    settings = settings or BankSettings()
    # The bank stands outside the platform: it publishes no events and trusts no platform tokens.
    kernel = Kernel(settings, uses_broker=False, verifies_tokens=False)

    def new_uow() -> BankUnitOfWork:
        return BankUnitOfWork(kernel.engine)

    async def seed_corporate_account() -> None:
        key = AccountKey(settings.corporate_bank_name, settings.corporate_bank_account_number)
        await use_cases.seed_corporate_account(new_uow(), key, settings.corporate_seed_balance)

    switch = FaultSwitch()
    app = create_service_app(
        kernel,
        title="Pay external bank simulator",
        description="Stands in for a real bank's open API: accounts, idempotent transfers, fault injection.",
        routers=[bank_router(new_uow), faults_router(switch)],
        error_map=ERRORS,
        on_startup=[seed_corporate_account],
    )
    # Outermost, so that an injected outage refuses a request before any other layer sees it.
    app.add_middleware(FaultInjectionMiddleware, switch=switch)
    return app
