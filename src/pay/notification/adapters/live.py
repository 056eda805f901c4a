"""Open streams in this process, woken when their member's feed grows.

One connection per process LISTENs on the feed's channel; a NOTIFY, issued in the transaction that stored the
entries, arrives once that transaction committed (from whichever process stored them) and names the recipient
and its last entry number. The entries this process stored itself are handed over here as soon as their
transaction committed, and kept a little while for the recipients with a stream open here: a stream then sends
them without reading the database, and reads it only for entries another process stored. A stream that misses a
wake-up (the listening connection was lost meanwhile) loses nothing: it reads its feed again when the connection
is back.
"""

import asyncio
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

import asyncpg
import sqlalchemy as sa
import structlog

from pay.notification.adapters.db import CHANNEL
from pay.notification.domain.model import Entry
from pay.platform.retry import RetryPolicy

_log = structlog.get_logger()
_RECONNECT = RetryPolicy(first_delay=timedelta(seconds=0.2), max_delay=timedelta(seconds=5))
# Entries kept per recipient with an open stream: a stream further behind reads the database.
_KEPT_PER_RECIPIENT = 64
# What a recipient's last entry number is taken to be when nobody can tell (after the listener was lost): higher
# than any, so that its streams read the database.
_UNKNOWN = sys.maxsize


class LiveFeeds:
    def __init__(self, database_url: str) -> None:
        self._dsn = sa.make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._streams: dict[str, set[asyncio.Event]] = {}
        # For the recipients with a stream open here: the last entry number known committed, and the latest
        # entries this process stored.
        self._last_seq: dict[str, int] = {}
        self._kept: dict[str, deque[Entry]] = {}

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
                    self._last_seq.pop(recipient, None)
                    self._kept.pop(recipient, None)

    def recorded(self, entries: Sequence[Entry]) -> None:
        """Entries this process stored, once their transaction committed: their recipients' streams here are woken
        and may send them as they are."""
        for entry in entries:
            if entry.recipient in self._streams:
                self._kept.setdefault(entry.recipient, deque(maxlen=_KEPT_PER_RECIPIENT)).append(entry)
                self._heard_of(entry.recipient, entry.seq)

    def news_after(self, recipient: str, seq: int) -> list[Entry] | None:
        """The recipient's entries after `seq` that are known committed, oldest first; None when they must be
        read from the database (another process stored some, or nobody can tell)."""
        last = self._last_seq.get(recipient, 0)
        if last <= seq:
            return []
        kept = [entry for entry in self._kept.get(recipient, ()) if entry.seq > seq]
        if kept and kept[0].seq == seq + 1 and kept[-1].seq >= last:
            return kept
        return None

    def read_up_to(self, recipient: str, seq: int) -> None:
        """A stream read the recipient's feed from the database up to `seq`: at least that much is committed."""
        if recipient in self._streams:
            last = self._last_seq.get(recipient, 0)
            self._last_seq[recipient] = seq if last == _UNKNOWN else max(last, seq)

    def _heard_of(self, recipient: str, seq: int) -> None:
        if recipient in self._streams:
            self._last_seq[recipient] = max(self._last_seq.get(recipient, 0), seq)
            for woken in self._streams[recipient]:
                woken.set()

    def _wake_everyone(self) -> None:
        for recipient, streams in self._streams.items():
            self._last_seq[recipient] = _UNKNOWN
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

    def _heard(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        seq, _, recipient = payload.partition(" ")
        self._heard_of(recipient, int(seq))


def _connection_lost(lost: asyncio.Event, _connection: object) -> None:
    lost.set()
