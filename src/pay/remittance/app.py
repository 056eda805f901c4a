"""Composition root: wires remittance's adapters into its use cases and builds the ASGI app."""

from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from pay.contracts.clients import BankingClient, MembershipClient, MoneyClient
from pay.platform import http
from pay.platform.kernel import Kernel
from pay.platform.retry import RetryPolicy
from pay.platform.saga import SagaTimer
from pay.platform.watch import EndWatch
from pay.remittance.adapters import messaging
from pay.remittance.adapters.clients import BankingAccounts, MembershipMembers, MoneyWallets
from pay.remittance.adapters.db import RemittanceUnitOfWork
from pay.remittance.adapters.http import ERRORS, router
from pay.remittance.adapters.trail import MoneyTrail
from pay.remittance.application import use_cases
from pay.remittance.domain.model import BankTarget
from pay.remittance.settings import RemittanceSettings


def create_app(settings: RemittanceSettings | None = None) -> FastAPI:
    settings = settings or RemittanceSettings()
    if settings.service_token is None:
        raise ValueError(
            "remittance asks membership, banking and money with a service credential: set PAY_SERVICE_TOKEN"
        )
    kernel = Kernel(settings)
    assert kernel.broker is not None
    token, timeout = settings.service_token.get_secret_value(), settings.http_timeout_seconds
    membership = MembershipClient(settings.url_of("membership"), token=token, timeout=timeout)
    banking = BankingClient(settings.url_of("banking"), token=token, timeout=timeout)
    money = MoneyClient(settings.url_of("money"), token=token, timeout=timeout)

    async def advance(saga_id: str) -> None:
        await use_cases.advance_saga(deps, saga_id)

    timer = SagaTimer(kernel.engine, advance)
    deps = use_cases.Dependencies(
        uow=partial(RemittanceUnitOfWork, kernel.engine, kernel.on_outbox_commit),
        members=MembershipMembers(membership),
        bank_accounts=BankingAccounts(banking),
        wallets=MoneyWallets(money),
        clock=partial(datetime.now, UTC),
        corporate_account=BankTarget(settings.corporate_bank_name, settings.corporate_bank_account_number),
        daily_limit=settings.remittance_daily_limit,
        business_timezone=ZoneInfo(settings.business_timezone),
        retry=RetryPolicy(
            first_delay=timedelta(seconds=settings.remittance_retry_first_seconds),
            max_delay=timedelta(seconds=settings.remittance_retry_max_seconds),
        ),
        watch=EndWatch(),
        answer_within_seconds=settings.remittance_wait_seconds,
        wake_sagas=timer.wake,
    )
    messaging.subscribe(kernel.broker, deps)

    async def start_timer() -> None:
        kernel.run_in_background(timer.run(), "remittance-sagas")

    async def close_clients() -> None:
        for client in (membership, banking, money):
            await client.aclose()

    app = http.create_app(
        kernel,
        title="Pay remittance",
        description="Money sent to another member's wallet or to any bank account.",
        routers=[router],
        error_map=ERRORS,
        on_startup=[start_timer],
        on_shutdown=[close_clients],
    )
    app.state.remittance = deps
    app.state.money_trail = MoneyTrail(money, banking)
    return app
