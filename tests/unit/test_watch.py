"""Waiting with a time limit never swallows a cancellation: a loop that waits so always stops. (On Python 3.11
`asyncio.wait_for` swallowed this one, and the outbox relay then never stopped: a shutdown hung.)"""

import asyncio
import contextlib

from pay.platform.watch import EndWatch, wait_at_most


async def test_a_cancellation_arriving_as_the_event_is_set_ends_the_wait() -> None:
    event = asyncio.Event()
    task = asyncio.create_task(wait_at_most(event, 10))
    await asyncio.sleep(0)
    event.set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()


async def test_a_loop_whose_cancellation_was_swallowed_stops_at_its_next_wait() -> None:
    rounds = 0

    async def loop() -> None:
        nonlocal rounds
        while True:
            rounds += 1
            # As a database driver may: the cancellation becomes something the loop survives.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(10)
            await wait_at_most(asyncio.Event(), 10)

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    task.cancel()
    async with asyncio.timeout(1):
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled() and rounds == 1


async def test_a_wait_ends_at_its_limit_or_when_the_thing_ends() -> None:
    watch = EndWatch()
    async with asyncio.timeout(1):
        await watch.pause("r-1", 0.01)
        waiting = asyncio.create_task(watch.pause("r-2", 10))
        await asyncio.sleep(0)
        watch.ended("r-2")
        await waiting
