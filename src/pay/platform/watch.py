"""Waiting in this process: for an event with a time limit, and for something (a request, a remittance) to
end without polling too often."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

T = TypeVar("T")
_log = structlog.get_logger()


async def wait_at_most(event: asyncio.Event, seconds: float) -> None:
    """Until the event is set, or `seconds` at most: how the kernel's loops pause between rounds.

    A loop that is being cancelled stops here even when the cancellation was swallowed below it (a
    database driver may turn it into an error the loop logs and survives); and this is not
    `asyncio.wait_for`, which on Python 3.11 swallows one that arrives as the event is set. Either way
    the loop would otherwise never stop, and neither would the service's shutdown."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


class EndWatch:
    """`ended(id)` wakes whoever waits in `pause(id, …)` now; a pause also ends after `poll_seconds`, since
    another instance of the service may end it too and only a poll sees that. The poll is rare on purpose:
    every waiting request reads its thing once per poll, and the instance that ends it wakes it at once."""

    def __init__(self, poll_seconds: float = 1.0) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self._poll_seconds = poll_seconds

    def ended(self, key: str) -> None:
        event = self._events.get(key)
        if event is not None:
            event.set()

    async def pause(self, key: str, seconds: float) -> None:
        event = self._events.setdefault(key, asyncio.Event())
        try:
            await wait_at_most(event, seconds)
        finally:
            self._events.pop(key, None)

    async def until_ended(
        self, key: str, read: Callable[[], Awaitable[T]], ended: Callable[[T], bool], last_seen: T, seconds: float
    ) -> T:
        """What `read` gives once it has `ended`, or as it stands when `seconds` have passed. The thing was
        recorded already, so a failure while merely watching it answers what was last seen, never an
        error: the caller would take an error for a refusal and send it again."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            try:
                last_seen = await read()
            except Exception:
                _log.exception("watch_failed", key=key)
                return last_seen
            remaining = deadline - loop.time()
            if ended(last_seen) or remaining <= 0:
                return last_seen
            # Woken at once when this process ends it; the poll covers another instance ending it.
            await self.pause(key, min(remaining, self._poll_seconds))
