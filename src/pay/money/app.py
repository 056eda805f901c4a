"""Composition root: wires money's adapters into its use cases and builds the ASGI app."""

from datetime import UTC, datetime, timedelta
from functools import partial

from fastapi import FastAPI

from pay.contracts.clients import BankingClient
from pay.money.adapters import messaging
from pay.money.adapters.clients import HttpBanking
from pay.money.adapters.db import MoneyUnitOfWork
from pay.money.adapters.http import DIRECT_ROUTES, ERRORS, router
from pay.money.adapters.wallet_cache import WalletCache
from pay.money.application import use_cases
from pay.money.application.transfers import transfer_together
from pay.money.domain.sagas import BankAccount, SagaTiming
from pay.money.settings import MoneySettings
from pay.platform import http
from pay.platform.batching import Batcher
from pay.platform.kernel import Kernel
from pay.platform.retry import RetryPolicy
from pay.platform.saga import SagaTimer
from pay.platform.watch import EndWatch


def create_app(settings: MoneySettings | None = None) -> FastAPI:
    settings = settings or MoneySettings()
    kernel = Kernel(settings)
    assert kernel.broker is not None
    service_token = settings.service_token.get_secret_value() if settings.service_token else None
    banking = BankingClient(settings.url_of("banking"), token=service_token, timeout=settings.http_timeout_seconds)

    async def advance(saga_id: str) -> None:
        await use_cases.advance_saga(deps, saga_id)

    timer = SagaTimer(kernel.engine, advance)
    new_uow = partial(MoneyUnitOfWork, kernel.engine, kernel.on_outbox_commit, WalletCache())
    clock = partial(datetime.now, UTC)
    deps = use_cases.Dependencies(
        uow=new_uow,
        banking=HttpBanking(banking),
        clock=clock,
        corporate_account=BankAccount(settings.corporate_bank_name, settings.corporate_bank_account_number),
        balance_limit=settings.wallet_balance_limit,
        transfers=Batcher(partial(transfer_together, new_uow, clock, settings.wallet_balance_limit)),
        answer_within_seconds=settings.money_wait_seconds,
        timing=_saga_timing(settings),
        watch=EndWatch(),
        wake_sagas=timer.wake,
    )
    messaging.subscribe(kernel.broker, deps)

    async def start_timer() -> None:
        kernel.run_in_background(timer.run(), "money-sagas")

    async def close_clients() -> None:
        await banking.aclose()

    app = http.create_app(
        kernel,
        title="Pay money",
        description="The event-sourced wallet: recharges, withdrawals, transfers and their history.",
        routers=[router],
        error_map=ERRORS,
        on_startup=[start_timer],
        on_shutdown=[close_clients],
        direct_routes=DIRECT_ROUTES,
    )
    app.state.money = deps
    return app


def _saga_timing(settings: MoneySettings) -> SagaTiming:
    return SagaTiming(
        retry=RetryPolicy(
            first_delay=timedelta(seconds=settings.saga_retry_first_seconds),
            max_delay=timedelta(seconds=settings.saga_retry_max_seconds),
        ),
        account_check_deadline=timedelta(seconds=settings.account_check_deadline_seconds),
        # Each phase of a call (waiting for a connection, connecting, sending, reading) is bounded by the timeout.
        call_lease=4 * timedelta(seconds=settings.http_timeout_seconds),
        refund_retry=RetryPolicy(
            first_delay=timedelta(seconds=settings.saga_retry_first_seconds),
            max_delay=timedelta(seconds=settings.refund_retry_max_pause_seconds),
        ),
        refund_deadline=timedelta(seconds=settings.refund_retry_seconds),
    )
