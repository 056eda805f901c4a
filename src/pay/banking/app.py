"""Composition root: wires banking's adapters into its use cases and builds the ASGI app."""

from datetime import UTC, datetime, timedelta
from functools import partial

from fastapi import FastAPI

from pay.banking.adapters.cache import NatsBalanceCache, RedisBalanceCache
from pay.banking.adapters.clients import BankGateway, BankResilience, MembershipMembers
from pay.banking.adapters.db import BankingUnitOfWork
from pay.banking.adapters.http import ERRORS, router
from pay.banking.adapters.messaging import subscribe
from pay.banking.application import use_cases
from pay.banking.application.balance import BalanceReading, SingleFlight
from pay.banking.domain.model import Deadlines
from pay.banking.settings import BankingSettings
from pay.contracts.clients import BankClient, MembershipClient
from pay.platform import http
from pay.platform.kernel import Kernel
from pay.platform.retry import RetryPolicy
from pay.platform.saga import SagaTimer


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def bank_resilience(settings: BankingSettings) -> BankResilience:
    return BankResilience(
        timeout_seconds=settings.bank_timeout_seconds,
        retry=RetryPolicy(
            first_delay=_seconds(settings.bank_retry_first_seconds),
            max_delay=_seconds(settings.bank_retry_max_seconds),
            attempts=settings.bank_attempts,
            budget=_seconds(settings.bank_retry_budget_seconds),
        ),
        breaker_threshold=settings.bank_breaker_threshold,
        breaker_reset_seconds=settings.bank_breaker_reset_seconds,
    )


def create_app(settings: BankingSettings | None = None) -> FastAPI:
    settings = settings or BankingSettings()
    if settings.service_token is None:
        raise ValueError("banking asks membership about members with a service credential: set PAY_SERVICE_TOKEN")
    # The grace must outlast one call to the bank: a transfer sent just before the window closed may still arrive.
    if settings.firmbanking_not_received_grace_seconds < settings.bank_timeout_seconds:
        raise ValueError("the not-received grace must be at least the bank timeout")
    resilience = bank_resilience(settings)
    kernel = Kernel(settings)
    assert kernel.broker is not None
    clock = partial(datetime.now, UTC)
    bank = BankGateway(BankClient(settings.url_of("bank"), timeout=resilience.timeout_seconds), resilience, clock)
    members = MembershipMembers(
        MembershipClient(
            settings.url_of("membership"),
            token=settings.service_token.get_secret_value(),
            timeout=settings.http_timeout_seconds,
        )
    )
    deps = use_cases.Dependencies(
        uow=partial(BankingUnitOfWork, kernel.engine, kernel.on_outbox_commit),
        members=members,
        bank=bank,
        deadlines=Deadlines(
            send_window=_seconds(settings.firmbanking_send_window_seconds),
            not_received_grace=_seconds(settings.firmbanking_not_received_grace_seconds),
            # A step at the bank: one question, then a transfer with its retries.
            lease=resilience.longest_transfer + _seconds(resilience.timeout_seconds),
            recheck=RetryPolicy(
                first_delay=_seconds(settings.firmbanking_recheck_first_seconds),
                max_delay=_seconds(settings.firmbanking_recheck_max_seconds),
            ),
        ),
        clock=clock,
    )
    subscribe(kernel.broker, deps)
    redis_cache = RedisBalanceCache(settings.cache_url) if settings.cache_url else None
    bank_balances = BalanceReading(
        deps=deps,
        cache=redis_cache or NatsBalanceCache(kernel.broker),
        refreshes=SingleFlight(),
        max_age=_seconds(settings.bank_balance_max_age_seconds),
        wait=_seconds(settings.bank_balance_wait_seconds),
    )

    async def check(firmbanking_request_id: str) -> None:
        await use_cases.check_firmbanking(deps, firmbanking_request_id)

    timer = SagaTimer(kernel.engine, check)

    async def start_timer() -> None:
        kernel.run_in_background(timer.run(), "firmbanking-sagas")

    async def close_clients() -> None:
        await bank_balances.refreshes.aclose()
        await bank.aclose()
        await members.aclose()
        if redis_cache is not None:
            await redis_cache.aclose()

    app = http.create_app(
        kernel,
        title="Pay banking",
        description="Linked bank accounts and firm banking through the external bank.",
        routers=[router],
        error_map=ERRORS,
        on_startup=[start_timer],
        on_shutdown=[close_clients],
    )
    app.state.banking = deps
    app.state.bank_balances = bank_balances
    return app
