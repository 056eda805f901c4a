"""Open streams in this process, woken when their member's feed grows.

One connection per process LISTENs on the feed's channel; a NOTIFY, issued in the transaction that stored the
entries, arrives once that transaction committed (from whichever process stored them) and wakes the streams of
its recipient, which then read their feed after the last entry they sent. A stream that misses a wake-up (the
listening connection was lost meanwhile) loses nothing: it reads its feed again when the connection is back,
and after each heartbeat.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

import asyncpg
import sqlalchemy as sa
import structlog

from pay.notification.adapters.db import CHANNEL
from pay.platform.retry import RetryPolicy

_log = structlog.get_logger()
_RECONNECT = RetryPolicy(first_delay=timedelta(seconds=0.2), max_delay=timedelta(seconds=5))


class LiveFeeds:
    def __init__(self, database_url: str) -> None:
        self._dsn = sa.make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._streams: dict[str, set[asyncio.Event]] = {}

    @contextmanager
    def watching(self, recipient: str) -> Iterator[asyncio.Event]:
        """An event set whenever the recipient's feed may have grown, for as long as the stream is open."""
        woken = asyncio.Event()
        self._streams.setdefault(recipient, set()).add(woken)
        try:
            yield woken
        finally:
            streams = self._streams.get(recipient)
            if streams is not None:
                streams.discard(woken)
                if not streams:
                    del self._streams[recipient]

    @property
    def open_streams(self) -> int:
        return sum(len(streams) for streams in self._streams.values())

    def wake(self, recipient: str) -> None:
        for woken in self._streams.get(recipient, ()):
            woken.set()

    def _wake_everyone(self) -> None:
        for streams in self._streams.values():
            for woken in streams:
                woken.set()

    async def listen(self) -> None:
        """Hold the listening connection, opening it again whenever it is lost."""
        failures = 0
        while True:
            lost = asyncio.Event()
            try:
                connection = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as error:
                failures += 1
                _log.warning("notification_listen_failed", error=str(error), attempt=failures)
                await asyncio.sleep(_RECONNECT.delay(failures).total_seconds())
                continue
            try:
                connection.add_termination_listener(partial(_connection_lost, lost))
                await connection.add_listener(CHANNEL, self._heard)
                failures = 0
                # What was committed while no connection listened is read now.
                self._wake_everyone()
                await lost.wait()
                _log.warning("notification_listen_lost")
            finally:
                if not connection.is_closed():
                    await connection.close()

    def _heard(self, _connection: object, _pid: int, _channel: str, recipient: str) -> None:
        self.wake(recipient)


def _connection_lost(lost: asyncio.Event, _connection: object) -> None:
    lost.set()
