"""Composition root: wires notification's adapters into its use cases and builds the ASGI app."""

from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
from fastapi import FastAPI

from pay.notification.adapters import messaging
from pay.notification.adapters.alerts import WebhookAlerts
from pay.notification.adapters.db import NotificationUnitOfWork
from pay.notification.adapters.http import ERRORS, router
from pay.notification.adapters.live import LiveFeeds
from pay.notification.application import use_cases
from pay.notification.domain.model import AlertWindow
from pay.notification.settings import NotificationSettings
from pay.platform import http
from pay.platform.kernel import Kernel


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    settings = settings or NotificationSettings()
    kernel = Kernel(settings)
    assert kernel.broker is not None
    alert_client = httpx.AsyncClient(timeout=settings.http_timeout_seconds)
    alerts = WebhookAlerts(settings.alert_webhook_url, AlertWindow(settings.alerts_per_minute), alert_client)
    live_feeds = LiveFeeds(settings.database_url)
    deps = use_cases.Dependencies(
        uow=partial(NotificationUnitOfWork, kernel.engine, kernel.on_outbox_commit),
        announcer=live_feeds,
        alerts=alerts,
        clock=partial(datetime.now, UTC),
        retention=timedelta(hours=settings.feed_retention_hours),
        ticket_lifetime=timedelta(seconds=settings.ticket_seconds),
    )
    messaging.subscribe(kernel.broker, deps)

    async def start_listening() -> None:
        kernel.run_in_background(live_feeds.listen(), "notification-listener")
        kernel.run_in_background(alerts.run(), "alert-poster")

    app = http.create_app(
        kernel,
        title="Pay notification",
        description="Members' feeds of what happened to their money, live as Server-Sent Events; operators' alerts.",
        routers=[router],
        error_map=ERRORS,
        on_startup=[start_listening],
        on_shutdown=[alert_client.aclose],
    )
    app.state.notification = deps
    app.state.live_feeds = live_feeds
    app.state.stream_heartbeat_seconds = settings.stream_heartbeat_seconds
    return app
