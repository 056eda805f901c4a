"""Operators' alerts: posted to a Slack-compatible webhook (`{"text": …}`), at most so many a minute.

Alerts are told after the transaction that recorded their event committed, and posted from a queue by one task
of the process, so no consumer waits for the receiver. A post the receiver refuses or does not answer is tried
again a few times within seconds, then given up and logged: alerts are a convenience on top of the members'
feeds and the services' own records, which keep every failure; they are not kept across a restart.
"""

import asyncio
from datetime import timedelta

import httpx
import structlog

from pay.notification.domain.model import AlertWindow, summary
from pay.platform.retry import RetryPolicy

_log = structlog.get_logger()
_QUEUED_AT_MOST = 1000
_POSTING = RetryPolicy(
    first_delay=timedelta(seconds=0.5), max_delay=timedelta(seconds=4), attempts=4, budget=timedelta(seconds=15)
)


class WebhookAlerts:
    def __init__(self, url: str | None, window: AlertWindow, client: httpx.AsyncClient) -> None:
        self._url = url
        self._window = window
        self._client = client
        self._queue: asyncio.Queue[str] = asyncio.Queue(_QUEUED_AT_MOST)
        self._retrying = _POSTING.retrying(_worth_retrying)

    def tell(self, text: str) -> None:
        if self._url is None:
            return
        self._summarize(asyncio.get_running_loop().time())
        if self._window.admit(asyncio.get_running_loop().time()):
            try:
                self._queue.put_nowait(text)
            except asyncio.QueueFull:
                _log.warning("alert_dropped", text=text, reason="queue full")

    def _summarize(self, now: float) -> None:
        held_back = self._window.close(now)
        if held_back:
            text = summary(held_back, self._window.seconds)
            try:
                self._queue.put_nowait(text)
            except asyncio.QueueFull:
                _log.warning("alert_dropped", text=text, reason="queue full")

    async def run(self) -> None:
        """Post what is queued; when a minute that held alerts back is over, post its summary."""
        loop = asyncio.get_running_loop()
        while True:
            closes_at = self._window.closes_at()
            try:
                if closes_at is None:
                    text = await self._queue.get()
                else:
                    async with asyncio.timeout(max(closes_at - loop.time(), 0)):
                        text = await self._queue.get()
            except TimeoutError:
                self._summarize(loop.time())
                continue
            await self._post(text)

    async def _post(self, text: str) -> None:
        try:
            await self._retrying(self._post_once, text)
        except (httpx.HTTPError, TimeoutError) as error:
            _log.warning("alert_undelivered", text=text, error=str(error))

    async def _post_once(self, text: str) -> None:
        assert self._url is not None
        response = await self._client.post(self._url, json={"text": text})
        response.raise_for_status()


def _worth_retrying(error: Exception) -> bool:
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code >= 500 or error.response.status_code == 429
    return isinstance(error, httpx.TransportError)
