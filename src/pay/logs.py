"""`pay logs`: which shipped log events to show, and how they read on a terminal or in a pipe."""

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
from rich.text import Text

from pay.platform.broker import following_logs


class Level(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


_RANKS = {name.lower(): rank for name, rank in logging.getLevelNamesMapping().items()}
_UNKNOWN_RANK = logging.INFO
_LEVEL_STYLES = {"debug": "dim", "info": "green", "warning": "yellow", "error": "bold red", "critical": "bold red"}
# Shown in their own columns, or (an exception's traceback) below the line.
_OWN_PLACE = ("timestamp", "service", "level", "event", "exception")

LogEvent = dict[str, Any]


@dataclass(frozen=True)
class LogFilter:
    """Empty `services` means every service; `level` is the least severe level shown."""

    services: frozenset[str] = frozenset()
    level: Level = Level.DEBUG
    request_id: str | None = None

    def admits(self, event: LogEvent) -> bool:
        if self.services and event.get("service") not in self.services:
            return False
        if self.request_id is not None and event.get("request_id") != self.request_id:
            return False
        return rank(event.get("level")) >= _RANKS[self.level]


def rank(level: object) -> int:
    """A level's severity; an event without a level the logging module knows counts as info."""
    return _RANKS.get(level.lower(), _UNKNOWN_RANK) if isinstance(level, str) else _UNKNOWN_RANK


def parse(line: bytes) -> LogEvent | None:
    """The event a shipped line holds, or None for a line that is not a JSON object."""
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return event if isinstance(event, dict) else None


def pretty(event: LogEvent) -> Text:
    """`18:02:03.145 money      info    request method=GET path=/money/... status=404`."""
    level = str(event.get("level", ""))
    text = Text()
    text.append(_time_of_day(event.get("timestamp")), style="dim")
    text.append(f" {event.get('service', '-'):<12}", style="cyan")
    text.append(f" {level:<8}", style=_LEVEL_STYLES.get(level.lower(), ""))
    text.append(f" {event.get('event', '')}", style="bold")
    for key, value in event.items():
        if key not in _OWN_PLACE:
            text.append(f" {key}=", style="dim")
            text.append(_value(value))
    if exception := event.get("exception"):
        text.append(f"\n{exception}", style="red")
    return text


def _time_of_day(timestamp: object) -> str:
    """`2026-12-02T18:02:03.145678Z` reads `18:02:03.145`; anything else is shown as it came."""
    if not isinstance(timestamp, str):
        return "-"
    _, separator, time = timestamp.partition("T")
    return time.rstrip("Z")[:12] if separator else timestamp


def _value(value: object) -> str:
    if isinstance(value, str) and value and not any(character.isspace() or character == '"' for character in value):
        return value
    return orjson.dumps(value, default=str).decode()


async def follow(
    broker_url: str, log_filter: LogFilter, on_following: Callable[[], None]
) -> AsyncIterator[tuple[bytes, LogEvent]]:
    """Each event `log_filter` admits, raw and parsed, from `on_following()` on until the broker goes away."""
    async with following_logs(broker_url) as lines:
        on_following()
        async for line in lines:
            event = parse(line)
            if event is not None and log_filter.admits(event):
                yield line, event
