"""Helpers for tests that run a service in-process against the session's PostgreSQL and NATS."""

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
import uvicorn
from fastapi import FastAPI

from pay.platform import auth
from pay.platform.infra import EmbeddedPostgres
from pay.platform.migrations import upgrade
from pay.platform.settings import Settings
from pay.platform.supervisor import free_port

SettingsT = TypeVar("SettingsT", bound=Settings)
_POLL_SECONDS = 0.05


async def eventually(check: Callable[[], Any], seconds: float) -> Any:
    """What `check` (a function or a coroutine function) gives once it gives something true, asked again until
    `seconds` have passed."""
    for _ in range(int(seconds / _POLL_SECONDS)):
        found = check()
        if inspect.isawaitable(found):
            found = await found
        if found:
            return found
        await asyncio.sleep(_POLL_SECONDS)
    raise AssertionError(f"never came true within {seconds} s")


async def provision(pg: EmbeddedPostgres, package: str, database: str) -> str:
    """A freshly migrated database of its own for one test module."""
    await anyio.to_thread.run_sync(pg.ensure_database, database)
    url = pg.url(database)
    await anyio.to_thread.run_sync(upgrade, package, url)
    return url


def settings_for(
    settings_class: type[SettingsT], database_url: str, broker_url: str, data_dir: Path, **overrides: Any
) -> SettingsT:
    auth.ensure_signing_keys(data_dir / "keys")
    return settings_class(database_url=database_url, broker_url=broker_url, data_dir=data_dir, **overrides)


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, and a client that talks to it without a socket."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def token_for(data_dir: Path, subject: str, role: auth.Role) -> str:
    private_key = (data_dir / "keys" / auth.PRIVATE_KEY_FILE).read_text()
    return auth.TokenIssuer(private_key, timedelta(minutes=5)).issue(subject, role)


@asynccontextmanager
async def listening(app: FastAPI) -> AsyncIterator[str]:
    """The app behind a real uvicorn on a free port of 127.0.0.1, for a service that calls it over HTTP."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
