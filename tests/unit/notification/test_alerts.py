"""Alerts reach the operators' webhook as Slack-compatible `{"text": …}`, at most so many a window, the rest in
one summary when the window is over; without a webhook, nothing is posted."""

import asyncio
import json

import httpx

from pay.notification.adapters.alerts import WebhookAlerts
from pay.notification.domain.model import AlertWindow

WINDOW_SECONDS = 0.3


async def test_alerts_past_the_windows_share_are_summed_up_once_it_is_over() -> None:
    posted: list[str] = []

    def receive(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content)["text"])
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(receive)) as client:
        alerts = WebhookAlerts("http://hooks.example/alerts", AlertWindow(2, WINDOW_SECONDS), client)
        posting = asyncio.create_task(alerts.run())
        try:
            for number in range(5):
                alerts.tell(f"failure {number}")
            await asyncio.sleep(WINDOW_SECONDS * 2)
        finally:
            posting.cancel()

    assert posted == ["failure 0", "failure 1", "…and 3 more failures in the last 0.3 s (not posted one by one)"]


async def test_nothing_is_posted_without_a_webhook() -> None:
    posted: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        posted.append(request)
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(receive)) as client:
        alerts = WebhookAlerts(None, AlertWindow(2), client)
        posting = asyncio.create_task(alerts.run())
        alerts.tell("failure")
        await asyncio.sleep(0.05)
        posting.cancel()

    assert posted == []
