"""Composition root: wires banking's adapters into its use cases and builds the ASGI app."""

import asyncio
from datetime import UTC, datetime, timedelta
from functools import partial

import structlog
from fastapi import FastAPI

from pay.banking.adapters.clients import BankGateway, BankResilience, MembershipMembers
from pay.banking.adapters.db import BankingUnitOfWork
from pay.banking.adapters.http import ERRORS, router
from pay.banking.adapters.messaging import subscribe
from pay.banking.application import use_cases
from pay.banking.domain.model import Deadlines
from pay.banking.settings import BankingSettings
from pay.contracts.clients import BankClient, MembershipClient
from pay.platform import http
from pay.platform.kernel import Kernel

_log = structlog.get_logger()


async def _resolve_pending(deps: use_cases.Dependencies, interval: timedelta) -> None:
    """The background resolver: settles the requests the bank has not answered yet, as soon as it does."""
    while True:
        try:
            await use_cases.settle_due_requests(deps)
        except Exception:
            _log.exception("firmbanking_resolver_failed")
        await asyncio.sleep(interval.total_seconds())


def create_app(
    settings: BankingSettings | None = None,
    *,
    resilience: BankResilience | None = None,
    send_window: timedelta | None = None,
    not_received_grace: timedelta | None = None,
    resolver_interval: timedelta = timedelta(seconds=1),
    recheck_max: timedelta = timedelta(seconds=30),
) -> FastAPI:
    """`send_window`, `not_received_grace`: see `Deadlines`; the grace must outlast one call to the bank,
    the longest a transfer sent just before the window closed stays in flight on our side. Unless given
    (tests shorten them), they and the bank adapter's limits come from the `PAY_BANK_*` and
    `PAY_FIRMBANKING_*` settings."""
    settings = settings or BankingSettings()
    resilience = resilience or BankResilience(
        timeout_seconds=settings.bank_timeout_seconds,
        attempts=settings.bank_attempts,
        breaker_threshold=settings.bank_breaker_threshold,
        breaker_reset_seconds=settings.bank_breaker_reset_seconds,
    )
    send_window = send_window or timedelta(seconds=settings.firmbanking_send_window_seconds)
    not_received_grace = not_received_grace or timedelta(seconds=settings.firmbanking_not_received_grace_seconds)
    if settings.service_token is None:
        raise ValueError("banking asks membership about members with a service credential: set PAY_SERVICE_TOKEN")
    if not_received_grace.total_seconds() < resilience.timeout_seconds:
        raise ValueError("not_received_grace must be at least the bank timeout")
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
            send_window=send_window,
            not_received_grace=not_received_grace,
            # The resolver keeps off a new request until the requester's own attempt is surely over.
            first_check=resilience.longest_transfer + timedelta(seconds=resilience.timeout_seconds),
            recheck_initial=resolver_interval,
            recheck_max=recheck_max,
        ),
        clock=clock,
    )
    subscribe(kernel.broker, deps)

    async def start_resolver() -> None:
        kernel.run_in_background(_resolve_pending(deps, resolver_interval), "firmbanking-resolver")

    async def close_clients() -> None:
        await bank.aclose()
        await members.aclose()

    app = http.create_app(
        kernel,
        title="Pay banking",
        description="Linked bank accounts and firm banking through the external bank.",
        routers=[router],
        error_map=ERRORS,
        on_startup=[start_resolver],
        on_shutdown=[close_clients],
    )
    app.state.banking = deps
    return app
