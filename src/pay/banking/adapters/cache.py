"""The balance cache: a JetStream key-value bucket on the broker banking already uses, or a Redis
(`PAY_CACHE_URL=redis://…`). Both keep one JSON value per linked account."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import nats.errors
import redis.asyncio as redis
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from pay.banking.application.ports import CacheUnavailable
from pay.banking.domain.balance import SeenBalance
from pay.platform.broker import Broker

BUCKET = "banking-bank-balances"
REDIS_PREFIX = "pay:banking:bank-balance:"
REDIS_TIMEOUT_SECONDS = 1.0


def _encode(seen: SeenBalance) -> bytes:
    return json.dumps({"balance": seen.balance, "asOf": seen.as_of.isoformat()}).encode()


def _decode(value: bytes | str) -> SeenBalance:
    fields = json.loads(value)
    return SeenBalance(int(fields["balance"]), datetime.fromisoformat(fields["asOf"]))


@asynccontextmanager
async def _answering(*failures: type[Exception]) -> AsyncIterator[None]:
    try:
        yield
    except failures as error:
        raise CacheUnavailable(repr(error)) from error


class NatsBalanceCache:
    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._bucket: KeyValue | None = None

    async def _kv(self) -> KeyValue:
        # Asked for at first use: the broker connects when the service starts, after this is built.
        if self._bucket is None:
            self._bucket = await self._broker.key_value(BUCKET)
        return self._bucket

    async def get(self, registered_bank_account_id: str) -> SeenBalance | None:
        async with _answering(nats.errors.Error, TimeoutError):
            try:
                entry = await (await self._kv()).get(registered_bank_account_id)
            except KeyNotFoundError:
                return None
        return None if entry.value is None else _decode(entry.value)

    async def put(self, registered_bank_account_id: str, seen: SeenBalance) -> None:
        async with _answering(nats.errors.Error, TimeoutError):
            await (await self._kv()).put(registered_bank_account_id, _encode(seen))


class RedisBalanceCache:
    def __init__(self, url: str) -> None:
        # A Redis that stops answering must not hold a balance read longer than waiting for the bank would.
        self._redis = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )

    async def get(self, registered_bank_account_id: str) -> SeenBalance | None:
        async with _answering(redis.RedisError):
            value = await self._redis.get(REDIS_PREFIX + registered_bank_account_id)
        return None if value is None else _decode(value)

    async def put(self, registered_bank_account_id: str, seen: SeenBalance) -> None:
        async with _answering(redis.RedisError):
            await self._redis.set(REDIS_PREFIX + registered_bank_account_id, _encode(seen))

    async def aclose(self) -> None:
        await self._redis.aclose()
