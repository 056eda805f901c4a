"""Group commit: who waits with whom, and what each caller gets back."""

import asyncio
from collections.abc import Sequence

import pytest

from pay.platform.batching import Batcher


class Refused(Exception):
    pass


class Recorder:
    def __init__(self, fail_group: bool = False) -> None:
        self.groups: list[list[int]] = []
        self.fail_group = fail_group

    async def handle(self, items: Sequence[int]) -> list[int | Exception]:
        self.groups.append(list(items))
        await asyncio.sleep(0.01)
        if self.fail_group:
            raise ConnectionError("database gone")
        return [Refused(item) if item < 0 else item * 10 for item in items]


async def test_a_call_at_an_idle_batcher_is_written_at_once_and_alone() -> None:
    recorder = Recorder()
    assert await Batcher(recorder.handle).submit(1) == 10
    assert recorder.groups == [[1]]


async def _while_one_is_written(batcher: Batcher[int, int], *items: int) -> list[int]:
    first = asyncio.ensure_future(batcher.submit(0))
    await asyncio.sleep(0.001)  # the first group is being written now
    return [await first, *await asyncio.gather(*(batcher.submit(item) for item in items))]


async def test_calls_arriving_meanwhile_form_the_next_group_in_arrival_order() -> None:
    recorder = Recorder()
    assert await _while_one_is_written(Batcher(recorder.handle), 1, 2, 3, 4) == [0, 10, 20, 30, 40]
    assert recorder.groups == [[0], [1, 2, 3, 4]]


async def test_groups_are_no_larger_than_the_limit() -> None:
    recorder = Recorder()
    await _while_one_is_written(Batcher(recorder.handle, max_group=2), 1, 2, 3, 4)
    assert recorder.groups == [[0], [1, 2], [3, 4]]


async def test_an_item_refused_on_its_own_raises_for_its_caller_only() -> None:
    batcher = Batcher(Recorder().handle)
    answers = await asyncio.gather(batcher.submit(1), batcher.submit(-2), batcher.submit(3), return_exceptions=True)
    assert answers[0] == 10 and answers[2] == 30
    assert isinstance(answers[1], Refused)


async def test_a_failed_group_fails_every_caller_in_it_and_the_batcher_goes_on() -> None:
    recorder = Recorder(fail_group=True)
    batcher = Batcher(recorder.handle)
    answers = await asyncio.gather(*(batcher.submit(n) for n in range(1, 4)), return_exceptions=True)
    assert all(isinstance(answer, ConnectionError) for answer in answers)
    recorder.fail_group = False
    assert await batcher.submit(4) == 40


async def test_a_caller_that_gives_up_does_not_hold_up_the_others() -> None:
    batcher = Batcher(Recorder().handle)
    first = asyncio.ensure_future(batcher.submit(1))
    impatient = asyncio.ensure_future(batcher.submit(2))
    patient = asyncio.ensure_future(batcher.submit(3))
    await asyncio.sleep(0)
    impatient.cancel()
    assert await first == 10 and await patient == 30
    with pytest.raises(asyncio.CancelledError):
        await impatient
