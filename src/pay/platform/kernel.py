"""What a running service is made of besides its own code: database, broker, outbox relay, keys, logs, traces."""

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from pay.platform.auth import TokenVerifier, read_public_key
from pay.platform.broker import Broker
from pay.platform.db import create_bookkeeping_engine, create_engine
from pay.platform.idempotency.store import IdempotencyStore
from pay.platform.logging import SHIPPER
from pay.platform.outbox import OutboxRelay
from pay.platform.settings import Settings
from pay.platform.tracing import configure_tracing

_log = structlog.get_logger()


class Kernel:
    def __init__(self, settings: Settings, *, uses_broker: bool = True, verifies_tokens: bool = True) -> None:
        self.settings = settings
        configure_tracing(settings.service)
        self.engine: AsyncEngine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
        self.bookkeeping_engine: AsyncEngine = create_bookkeeping_engine(
            settings.database_url, pool_size=settings.database_pool_size
        )
        self.idempotency_store = IdempotencyStore(self.bookkeeping_engine)
        self.broker: Broker | None = (
            Broker(settings.broker_url, settings.service, settings.handlers_at_once) if uses_broker else None
        )
        self.relay: OutboxRelay | None = (
            OutboxRelay(self.engine, self.broker.publish, settings.service) if self.broker is not None else None
        )
        self.token_verifier: TokenVerifier | None = (
            TokenVerifier(read_public_key(settings.keys_dir, settings.jwt_public_key)) if verifies_tokens else None
        )
        self._tasks: list[asyncio.Task[None]] = []

    def on_outbox_commit(self) -> None:
        if self.relay is not None:
            self.relay.wake()

    def run_in_background(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(work, name=name))

    async def start(self) -> None:
        if self.broker is not None:
            await self.broker.start()
            SHIPPER.attach(self.broker.publish_log)
            self.run_in_background(SHIPPER.run(), "log-shipper")
        if self.relay is not None:
            self.run_in_background(self.relay.run(), "outbox-relay")
        self.run_in_background(self._forget_expired_idempotency_keys(), "idempotency-cleanup")
        _log.info("service_started", service=self.settings.service)

    async def stop_work(self) -> None:
        """First half of a graceful stop: take no more messages and end the background loops."""
        if self.broker is not None:
            # Consumers ack only what they finished; the rest is redelivered to whoever runs next.
            await self.broker.stop_consuming()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def close(self) -> None:
        """Second half: hand over what the outbox still holds, then let go of broker and database."""
        if self.relay is not None:
            try:
                await self.relay.publish_pending()
            except Exception:
                _log.exception("outbox_flush_failed")
        SHIPPER.detach()
        if self.broker is not None:
            await self.broker.stop()
        await self.engine.dispose()
        await self.bookkeeping_engine.dispose()
        _log.info("service_stopped", service=self.settings.service)

    async def _forget_expired_idempotency_keys(self) -> None:
        while True:
            try:
                await self.idempotency_store.forget_expired()
            except Exception:
                _log.exception("idempotency_cleanup_failed")
            await asyncio.sleep(3600)
