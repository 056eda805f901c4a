"""Composition root: wires franchise's adapters into its use cases and builds the ASGI app."""

from datetime import UTC, datetime, timedelta
from functools import partial

from fastapi import FastAPI

from pay.contracts.clients import BankingClient, MembershipClient
from pay.franchise.adapters import messaging
from pay.franchise.adapters.clients import BankingAccounts, HttpWebhookSender, MembershipOwners
from pay.franchise.adapters.db import FranchiseUnitOfWork
from pay.franchise.adapters.http import ERRORS, router
from pay.franchise.application import use_cases, webhooks
from pay.franchise.application.webhooks import WebhookDependencies
from pay.franchise.settings import FranchiseSettings
from pay.platform import http
from pay.platform.kernel import Kernel
from pay.platform.retry import RetryPolicy
from pay.platform.saga import SagaTimer
from pay.platform.sealing import Sealer


def create_app(settings: FranchiseSettings | None = None) -> FastAPI:
    settings = settings or FranchiseSettings()
    if settings.service_token is None:
        raise ValueError("franchise asks membership and banking with a service credential: set PAY_SERVICE_TOKEN")
    kernel = Kernel(settings)
    assert kernel.broker is not None
    token, timeout = settings.service_token.get_secret_value(), settings.http_timeout_seconds
    membership = MembershipClient(settings.url_of("membership"), token=token, timeout=timeout)
    banking = BankingClient(settings.url_of("banking"), token=token, timeout=timeout)
    sealer = Sealer.from_key(settings.webhook_secret_key, settings.keys_dir / "franchise-webhook-secrets.key")
    deps = use_cases.Dependencies(
        uow=partial(FranchiseUnitOfWork, kernel.engine, sealer, kernel.on_outbox_commit),
        owners=MembershipOwners(membership),
        bank_accounts=BankingAccounts(banking),
        clock=partial(datetime.now, UTC),
        webhooks_to_loopback=settings.webhooks_to_loopback,
    )
    sender = HttpWebhookSender(settings.webhook_timeout_seconds, loopback_allowed=settings.webhooks_to_loopback)

    async def advance(delivery_id: str) -> None:
        await webhooks.advance_delivery(webhook_deps, delivery_id)

    timer = SagaTimer(kernel.engine, advance)
    tries = webhooks.TriesUnderWay(settings.webhook_tries_at_once)
    webhook_deps = WebhookDependencies(
        franchise=deps,
        sender=sender,
        retry=RetryPolicy(
            first_delay=timedelta(seconds=settings.webhook_retry_first_seconds),
            max_delay=timedelta(seconds=settings.webhook_retry_max_seconds),
        ),
        lease=timedelta(seconds=2 * settings.webhook_timeout_seconds + 5),
        wake_timer=timer.wake,
        tries=tries,
    )
    messaging.subscribe(kernel.broker, webhook_deps)

    async def start_timer() -> None:
        kernel.run_in_background(timer.run(), "webhook-deliveries")

    async def close_clients() -> None:
        await tries.stop()
        for client in (membership, banking):
            await client.aclose()
        await sender.aclose()

    app = http.create_app(
        kernel,
        title="Pay franchise",
        description="Merchants of corporate members, their settlement accounts and fee rates.",
        routers=[router],
        error_map=ERRORS,
        on_startup=[start_timer],
        on_shutdown=[close_clients],
    )
    app.state.franchise = deps
    app.state.webhooks = webhook_deps
    return app
