"""Composition root: wires settlement's adapters into its use cases and builds the ASGI app."""

from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import structlog
from fastapi import FastAPI

from pay.contracts.clients import FranchiseClient, PaymentClient
from pay.platform import http
from pay.platform.kernel import Kernel
from pay.platform.retry import RetryPolicy
from pay.platform.saga import SagaTimer
from pay.settlement.adapters import messaging
from pay.settlement.adapters.clients import HttpFranchises, HttpPayments
from pay.settlement.adapters.db import SettlementUnitOfWork
from pay.settlement.adapters.http import ERRORS, router
from pay.settlement.application import use_cases
from pay.settlement.domain.model import BankAccount, Schedule
from pay.settlement.settings import SettlementSettings

_log = structlog.get_logger()


def create_app(settings: SettlementSettings | None = None) -> FastAPI:
    settings = settings or SettlementSettings()
    if settings.service_token is None:
        raise ValueError("settlement asks payment and franchise with a service credential: set PAY_SERVICE_TOKEN")
    kernel = Kernel(settings)
    assert kernel.broker is not None
    token, timeout = settings.service_token.get_secret_value(), settings.http_timeout_seconds
    payment = PaymentClient(settings.url_of("payment"), token=token, timeout=timeout)
    franchise = FranchiseClient(settings.url_of("franchise"), token=token, timeout=timeout)

    async def advance(saga_id: str) -> None:
        await use_cases.advance_saga(deps, saga_id)

    timer = SagaTimer(kernel.engine, advance)
    deps = use_cases.Dependencies(
        uow=partial(SettlementUnitOfWork, kernel.engine, kernel.on_outbox_commit),
        payments=HttpPayments(payment, ZoneInfo(settings.business_timezone)),
        franchises=HttpFranchises(franchise),
        clock=partial(datetime.now, UTC),
        corporate_account=BankAccount(settings.corporate_bank_name, settings.corporate_bank_account_number),
        business_timezone=ZoneInfo(settings.business_timezone),
        retry=RetryPolicy(
            first_delay=timedelta(seconds=settings.settlement_retry_first_seconds),
            max_delay=timedelta(seconds=settings.settlement_retry_max_seconds),
        ),
        schedule=Schedule.parse(settings.settlement_schedule),
        call_lease=4 * timedelta(seconds=settings.http_timeout_seconds),
        gather_lease=timedelta(seconds=settings.settlement_gather_lease_seconds),
        wake_sagas=timer.wake,
    )
    messaging.subscribe(kernel.broker, deps)

    async def start_timer() -> None:
        try:
            await use_cases.ensure_schedule(deps)
        except Exception:
            # Another instance starting at the same moment made the schedule's saga first.
            _log.warning("settlement_schedule_not_set", exc_info=True)
        kernel.run_in_background(timer.run(), "settlement-sagas")

    async def close_clients() -> None:
        for client in (payment, franchise):
            await client.aclose()

    app = http.create_app(
        kernel,
        title="Pay settlement",
        description="Franchises paid for their payments of a period, less the platform's fee and refunds owed.",
        routers=[router],
        error_map=ERRORS,
        on_startup=[start_timer],
        on_shutdown=[close_clients],
    )
    app.state.settlement = deps
    return app
