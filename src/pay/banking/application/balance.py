"""Reading a linked account's balance at the bank: answered from the cache at once, refreshed behind the reader.

Only a reader that asks for it (`refresh`), or finds nothing cached, waits for the bank, and never longer than
`BalanceReading.wait`. A refresh that outlasts the wait goes on and fills the cache for the next reader.
"""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from pay.banking.application.ports import BalanceCache, BankUnavailable, CacheUnavailable
from pay.banking.application.use_cases import Dependencies, fintech_use_of, linked_account
from pay.banking.domain.balance import BalanceAnswer, SeenBalance
from pay.banking.domain.model import RegisteredBankAccount

_log = logging.getLogger(__name__)


class SingleFlight:
    """At most one refresh per linked account at a time in this process: a reader who finds one under way joins
    it instead of asking the bank again, so a burst of reads of a stale balance makes one call to the bank."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[SeenBalance]] = {}

    def run(self, key: str, work: Callable[[], Coroutine[Any, Any, SeenBalance]]) -> asyncio.Task[SeenBalance]:
        task = self._running.get(key)
        if task is None or task.done():
            task = asyncio.create_task(work(), name=f"bank-balance-{key}")
            self._running[key] = task
            task.add_done_callback(partial(self._finished, key))
        return task

    def _finished(self, key: str, task: asyncio.Task[SeenBalance]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled() and (error := task.exception()) is not None:
            # The cached balance stays, and says it is stale; the next stale read tries again.
            _log.warning("the balance of linked account %s was not refreshed: %r", key, error)

    async def aclose(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass(frozen=True)
class BalanceReading:
    deps: Dependencies
    cache: BalanceCache
    refreshes: SingleFlight
    max_age: timedelta
    wait: timedelta


async def read_bank_balance(reading: BalanceReading, membership_id: str, refresh: bool = False) -> BalanceAnswer:
    """The member's linked account's balance as last seen. Raises LinkedAccountNotFound; BankUnavailable when
    nothing is cached and the bank did not answer within the wait."""
    link = await linked_account(reading.deps, membership_id)
    key = link.registered_bank_account_id
    try:
        seen = await reading.cache.get(key)
    except CacheUnavailable:
        # Without its cache the read is still answered, by the bank, as if nothing were cached.
        _log.warning("the balance cache is not answering", exc_info=True)
        seen = None
    if seen is not None and not refresh:
        fresh = seen.is_fresh(reading.deps.clock(), reading.max_age)
        if not fresh:
            reading.refreshes.run(key, partial(_refresh, reading, link))
        return BalanceAnswer(seen, fresh)
    running = reading.refreshes.run(key, partial(_refresh, reading, link))
    try:
        async with asyncio.timeout(reading.wait.total_seconds()):
            # Shielded: a reader that stops waiting leaves the refresh to finish for the next one.
            latest = await asyncio.shield(running)
    except (TimeoutError, BankUnavailable) as error:
        if seen is None:
            raise BankUnavailable(f"no balance of {key} seen yet, and the bank did not answer") from error
        return BalanceAnswer(seen, fresh=False)
    return BalanceAnswer(latest, fresh=True)


async def _refresh(reading: BalanceReading, link: RegisteredBankAccount) -> SeenBalance:
    fintech_use_num = await fintech_use_of(reading.deps, link)
    seen = SeenBalance(await reading.deps.bank.balance(fintech_use_num), reading.deps.clock())
    try:
        await reading.cache.put(link.registered_bank_account_id, seen)
    except CacheUnavailable:
        _log.warning("the balance cache is not answering", exc_info=True)
    return seen
