"""Summing a region's money: batches of at most 100, nobody dropped or counted twice at a page or batch
boundary, bounded concurrency, and no sum at all when membership or money fails."""

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pay.money_aggregation.application.ports import DownstreamUnavailable, MemberPage
from pay.money_aggregation.application.use_cases import Dependencies, sum_money_by_address
from pay.money_aggregation.domain.model import BATCH_SIZE, MoneySum, RegionTally, batches

REGION_SIZES = (0, 1, 99, 100, 101, 250)


@given(st.lists(st.text(min_size=1, max_size=3), max_size=450), st.integers(min_value=1, max_value=BATCH_SIZE))
def test_batches_hold_every_member_once_in_order_and_none_holds_more_than_the_size(
    members: list[str], size: int
) -> None:
    cut = list(batches(members, size))

    assert [member for batch in cut for member in batch] == members
    assert all(1 <= len(batch) <= size for batch in cut)
    assert len(cut) == -(-len(members) // size)


@pytest.mark.parametrize("size", [0, BATCH_SIZE + 1])
def test_a_batch_is_never_larger_than_money_is_asked_about(size: int) -> None:
    with pytest.raises(ValueError, match="a batch holds 1 to 100 members"):
        list(batches(["m"], size))


def test_the_tally_counts_every_member_of_a_batch_and_only_the_balances_asked_about() -> None:
    tally = RegionTally("강남구")

    tally.add(["a", "b", "c"], {"a": 500, "c": 7, "stranger": 1_000_000})
    tally.add(["d"], {})

    assert tally.result() == MoneySum("강남구", 507, 4)


@dataclass
class FakeRegion:
    """Membership's pages of a region and money's balances, recording what was asked and how much at once."""

    members: list[str]
    wallets: dict[str, int]
    pages_asked: list[str | None] = field(default_factory=list)
    batches_asked: list[Sequence[str]] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    fail_page: int | None = None
    fail_batch: int | None = None
    cancelled: int = 0

    async def page(self, address: str, cursor: str | None, limit: int) -> MemberPage:
        self.pages_asked.append(cursor)
        if self.fail_page == len(self.pages_asked):
            raise DownstreamUnavailable("membership: 503")
        after = [member for member in self.members if cursor is None or member > cursor]
        page = after[:limit]
        return MemberPage(page, page[-1] if len(after) > limit else None)

    async def balances(self, membership_ids: Sequence[str]) -> Mapping[str, int]:
        self.batches_asked.append(membership_ids)
        number = len(self.batches_asked)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.001 * (number % 3))
            if self.fail_batch == number:
                raise DownstreamUnavailable("money: connection refused")
            if self.fail_batch is not None:
                await asyncio.sleep(1)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1
        return {member: self.wallets[member] for member in membership_ids if member in self.wallets}


def region_of(size: int) -> FakeRegion:
    members = [f"m-{number:04d}" for number in range(size)]
    # Each balance is its own power of two: a member dropped or counted twice changes the sum.
    return FakeRegion(members, {member: 2**number for number, member in enumerate(members)})


def deps_for(region: FakeRegion, page_size: int, concurrency: int = 3) -> Dependencies:
    return Dependencies(members=region, balances=region, page_size=page_size, concurrency=concurrency)


@pytest.mark.parametrize("size", REGION_SIZES)
@pytest.mark.parametrize("page_size", [1, 37, 99, 100, 101, 500])
async def test_every_member_is_summed_once_whatever_the_pages_and_batches(size: int, page_size: int) -> None:
    region = region_of(size)

    found = await sum_money_by_address(deps_for(region, page_size), "강남구")

    assert found == MoneySum("강남구", 2**size - 1, size)
    asked = [member for batch in region.batches_asked for member in batch]
    assert sorted(asked) == region.members
    assert all(1 <= len(batch) <= BATCH_SIZE for batch in region.batches_asked)
    assert region.most_in_flight <= 3


async def test_a_member_without_a_wallet_is_counted_and_holds_nothing() -> None:
    region = FakeRegion(["a", "b"], {"a": 1_000})

    assert await sum_money_by_address(deps_for(region, 500), "Seoul") == MoneySum("Seoul", 1_000, 2)


async def test_an_empty_region_sums_to_nothing_without_asking_money() -> None:
    region = region_of(0)

    assert await sum_money_by_address(deps_for(region, 500), "nowhere") == MoneySum("nowhere", 0, 0)
    assert region.batches_asked == []


@pytest.mark.parametrize("concurrency", [1, 2, 5])
async def test_no_more_batches_are_asked_at_once_than_allowed(concurrency: int) -> None:
    region = region_of(250)

    await sum_money_by_address(deps_for(region, 37, concurrency), "Seoul")

    assert region.most_in_flight == concurrency


async def test_money_failing_on_one_batch_gives_no_sum_and_stops_the_others() -> None:
    region = region_of(250)
    region.fail_batch = 2

    with pytest.raises(DownstreamUnavailable, match="money"):
        await sum_money_by_address(deps_for(region, 500), "Seoul")
    assert region.cancelled >= 1
    assert region.in_flight == 0


async def test_membership_failing_on_a_later_page_gives_no_sum() -> None:
    region = region_of(250)
    region.fail_page = 3

    with pytest.raises(DownstreamUnavailable, match="membership"):
        await sum_money_by_address(deps_for(region, 100), "Seoul")
    assert region.in_flight == 0
