"""Group commit: concurrent calls that arrive while one group is being written form the next group.

A busy service then pays one database round trip per group instead of one per call, and nothing
waits on purpose: a call that arrives at an idle batcher is written at once, alone.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")

# What a group handler answers for each item, in the items' order: a result, or the exception to raise.
GroupHandler = Callable[[Sequence[Item]], Awaitable[Sequence[Outcome | Exception]]]


class Batcher(Generic[Item, Outcome]):
    def __init__(self, handle_group: GroupHandler[Item, Outcome], max_group: int = 200) -> None:
        self._handle_group = handle_group
        self._max_group = max_group
        self._waiting: list[tuple[Item, asyncio.Future[Outcome]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Outcome:
        """The outcome of this item, once the group it joined is written; raises the item's own refusal."""
        outcome: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, outcome))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_groups())
        return await outcome

    async def _write_groups(self) -> None:
        while self._waiting:
            group = self._waiting[: self._max_group]
            del self._waiting[: self._max_group]
            try:
                outcomes = await self._handle_group([item for item, _ in group])
            except Exception as failure:
                for _, waiting in group:
                    if not waiting.done():
                        waiting.set_exception(failure)
                continue
            except BaseException:
                for _, waiting in group:
                    waiting.cancel()
                raise
            for (_, waiting), outcome in zip(group, outcomes, strict=True):
                if waiting.done():
                    continue
                if isinstance(outcome, Exception):
                    waiting.set_exception(outcome)
                else:
                    waiting.set_result(outcome)
