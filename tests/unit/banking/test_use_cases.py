"""The banking use cases against in-memory fakes of their ports."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

import pytest

from pay.banking.application import use_cases
from pay.banking.application.ports import BankUnavailable, MembershipUnavailable
from pay.banking.domain.model import (
    NOT_RECEIVED_BY_BANK,
    AccountAlreadyLinked,
    AccountRef,
    AccountStanding,
    BankAccountInvalid,
    BankAccountNotFound,
    BankAnswer,
    FirmbankingEvent,
    FirmbankingRequest,
    FirmbankingStatus,
    MemberAlreadyLinked,
    MemberInvalid,
    MemberNotFound,
    MemberStanding,
    NotReceived,
    RegisteredBankAccount,
    SameAccount,
    Settled,
    TransferFailed,
    TransferIdReused,
    TransferOrder,
    TransferSucceeded,
    Unknown,
)

from banking_support import BANK, CORPORATE, DEADLINES, HOLDER, KB, NOW, OTHER


@dataclass
class Store:
    """What a database would hold: written only by a unit of work that commits."""

    links: dict[str, RegisteredBankAccount] = field(default_factory=dict)
    requests: dict[str, FirmbankingRequest] = field(default_factory=dict)
    inbox: set[tuple[str, str]] = field(default_factory=set)
    published: list[FirmbankingEvent] = field(default_factory=list)
    # Units of work now open: a real one may hold a lock on a request, and no lock may wait on the bank.
    open_units: int = 0


class FakeLinks:
    def __init__(self, rows: dict[str, RegisteredBankAccount]) -> None:
        self.rows = rows

    async def add(self, link: RegisteredBankAccount) -> None:
        if await self.of_account(link.account) is not None:
            raise AccountAlreadyLinked()
        if link.membership_id in self.rows:
            raise MemberAlreadyLinked()
        self.rows[link.membership_id] = link

    async def of_member(self, membership_id: str) -> RegisteredBankAccount | None:
        return self.rows.get(membership_id)

    async def of_account(self, account: AccountRef) -> RegisteredBankAccount | None:
        return next((link for link in self.rows.values() if link.account == account), None)

    async def keep_fintech_use(self, registered_bank_account_id: str, fintech_use_num: str) -> None:
        link = next(
            link for link in self.rows.values() if link.registered_bank_account_id == registered_bank_account_id
        )
        self.rows[link.membership_id] = replace(link, fintech_use_num=fintech_use_num)


class FakeRequests:
    def __init__(self, rows: dict[str, FirmbankingRequest]) -> None:
        self.rows = rows
        self.seen: list[FirmbankingRequest] = []

    async def claim_transfer(self, request: FirmbankingRequest) -> FirmbankingRequest:
        holder = next((r for r in self.rows.values() if r.transfer_id == request.transfer_id), None)
        if holder is not None:
            return replace(holder, events=[])
        self.rows[request.firmbanking_request_id] = request
        self.seen.append(request)
        return request

    async def get(self, firmbanking_request_id: str) -> FirmbankingRequest | None:
        request = self.rows.get(firmbanking_request_id)
        return replace(request, events=[]) if request else None

    async def lock(self, firmbanking_request_id: str, *, skip_locked: bool = False) -> FirmbankingRequest | None:
        return await self.get(firmbanking_request_id)

    async def touching(
        self, bank_account_number: str, bank_name: str | None, limit: int
    ) -> Sequence[FirmbankingRequest]:
        def matches(account: AccountRef) -> bool:
            return account.bank_account_number == bank_account_number and bank_name in (None, account.bank_name)

        found = [r for r in self.rows.values() if matches(r.order.source) or matches(r.order.destination)]
        return sorted(found, key=lambda r: r.created_at, reverse=True)[:limit]

    async def save(self, request: FirmbankingRequest) -> None:
        self.rows[request.firmbanking_request_id] = request
        self.seen.append(request)


class FakeInbox:
    def __init__(self, applied: set[tuple[str, str]]) -> None:
        self.applied = applied

    async def first_delivery(self, consumer: str, message_id: str) -> bool:
        if (consumer, message_id) in self.applied:
            return False
        self.applied.add((consumer, message_id))
        return True


class FakeUnitOfWork:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def __aenter__(self) -> Self:
        self.store.open_units += 1
        self.accounts = FakeLinks(dict(self.store.links))
        self.requests = FakeRequests({key: replace(r, events=[]) for key, r in self.store.requests.items()})
        self.inbox = FakeInbox(set(self.store.inbox))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.store.open_units -= 1

    async def commit(self) -> None:
        for request in self.requests.seen:
            self.store.published.extend(request.events)
            request.events.clear()
        self.store.links = dict(self.accounts.rows)
        self.store.requests = {key: replace(r) for key, r in self.requests.rows.items()}
        self.store.inbox = set(self.inbox.applied)


class FakeMembers:
    def __init__(self) -> None:
        self.rows: dict[str, bool] = {}
        self.unavailable = False

    async def standing(self, membership_id: str) -> MemberStanding:
        if self.unavailable:
            raise MembershipUnavailable()
        if membership_id not in self.rows:
            raise MemberNotFound(membership_id)
        return MemberStanding(membership_id, self.rows[membership_id], HOLDER)


class FakeBank:
    """Answers transfers as told in `answers` (else it moves the money), and remembers what it executed.

    It refuses to be called from inside a unit of work. `in_flight`, if set, runs once while the next transfer
    or question about one is at the bank: what happens elsewhere meanwhile.
    """

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        self.accounts: dict[AccountRef, bool] = {KB: True, OTHER: True, CORPORATE: True}
        self.answers: list[BankAnswer] = []
        self.executed: dict[str, Settled] = {}
        self.sent: list[tuple[TransferOrder, datetime]] = []
        self.asked: list[str] = []
        self.down = False
        self.garbled: set[str] = set()
        self.in_flight: Callable[[], Awaitable[None]] | None = None
        self.fintech_uses: dict[AccountRef, str] = {}
        self.balances: dict[AccountRef, int] = {}

    async def account(self, account: AccountRef) -> AccountStanding:
        self._outside_units_of_work()
        if self.down:
            raise BankUnavailable()
        if account not in self.accounts:
            raise BankAccountNotFound(str(account))
        return AccountStanding(account, self.accounts[account], HOLDER)

    async def fintech_use(self, account: AccountRef) -> str:
        await self.account(account)
        return self.fintech_uses.setdefault(account, f"{len(self.fintech_uses) + 1:024d}")

    async def balance(self, fintech_use_num: str) -> int:
        self._outside_units_of_work()
        if self.down:
            raise BankUnavailable()
        account = next(account for account, number in self.fintech_uses.items() if number == fintech_use_num)
        return self.balances.get(account, 0)

    async def transfer(self, order: TransferOrder, send_until: datetime) -> BankAnswer:
        await self._reached()
        self.sent.append((order, send_until))
        answer = self.answers.pop(0) if self.answers else Settled(True, None, order.transfer_id)
        if isinstance(answer, Settled):
            self.executed.setdefault(order.transfer_id, answer)
        return answer

    async def outcome_of(self, transfer_id: str) -> BankAnswer:
        asked_at = self.clock()
        await self._reached()
        self.asked.append(transfer_id)
        if transfer_id in self.garbled:
            raise ValueError("the bank answered something unreadable")
        if self.down:
            return Unknown("the bank is down")
        return self.executed.get(transfer_id, NotReceived(asked_at))

    def _outside_units_of_work(self) -> None:
        assert self.store.open_units == 0, "the bank was called inside a unit of work"

    async def _reached(self) -> None:
        self._outside_units_of_work()
        in_flight, self.in_flight = self.in_flight, None
        if in_flight is not None:
            await in_flight()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    deps: use_cases.Dependencies
    store: Store
    members: FakeMembers
    bank: FakeBank
    clock: Clock


@pytest.fixture
def world() -> World:
    store, members, clock = Store(), FakeMembers(), Clock()
    bank = FakeBank(store, clock)
    members.rows = {"m-1": True, "m-2": True, "m-invalid": False}
    deps = use_cases.Dependencies(
        uow=lambda: FakeUnitOfWork(store), members=members, bank=bank, deadlines=DEADLINES, clock=clock
    )
    return World(deps, store, members, bank, clock)


async def run_timer(world: World) -> list[str]:
    """What the saga runtime's timer does: hand every due request to its check, soonest first; the ids handed."""
    due = sorted(
        (r for r in world.store.requests.values() if r.is_due(world.clock.now)), key=lambda r: r.wake_at or NOW
    )
    for request in due:
        await use_cases.check_firmbanking(world.deps, request.firmbanking_request_id)
    return [request.firmbanking_request_id for request in due]


def command(
    message_id: str, transfer_id: str = "t-1", correlation_id: str = "saga-1", amount: int = 5_000
) -> use_cases.FirmbankingCommand:
    return use_cases.FirmbankingCommand(message_id, correlation_id, TransferOrder(transfer_id, KB, CORPORATE, amount))


# --- linking ------------------------------------------------------------------------------------


async def test_a_valid_member_links_a_confirmed_account_once(world: World) -> None:
    link = await use_cases.link_account(world.deps, use_cases.LinkAccount("m-1", KB))
    assert (link.membership_id, link.account, link.linked_status_is_valid) == ("m-1", KB, True)
    assert await use_cases.linked_account(world.deps, "m-1") == link
    with pytest.raises(AccountAlreadyLinked):
        await use_cases.link_account(world.deps, use_cases.LinkAccount("m-2", KB))
    with pytest.raises(MemberAlreadyLinked):
        await use_cases.link_account(world.deps, use_cases.LinkAccount("m-1", OTHER))
    assert list(world.store.links) == ["m-1"]


@pytest.mark.parametrize(
    ("membership_id", "account", "refusal"),
    [
        ("nobody", KB, MemberNotFound),
        ("m-invalid", KB, MemberInvalid),
        ("m-1", AccountRef(BANK, "no-such-account"), BankAccountNotFound),
    ],
)
async def test_unknown_or_invalid_members_and_accounts_link_nothing(
    world: World, membership_id: str, account: AccountRef, refusal: type[Exception]
) -> None:
    with pytest.raises(refusal):
        await use_cases.link_account(world.deps, use_cases.LinkAccount(membership_id, account))
    assert world.store.links == {}


async def test_an_account_the_bank_marks_invalid_is_not_linked(world: World) -> None:
    world.bank.accounts[OTHER] = False
    with pytest.raises(BankAccountInvalid):
        await use_cases.link_account(world.deps, use_cases.LinkAccount("m-1", OTHER))
    assert world.store.links == {}


async def test_silent_membership_or_bank_links_nothing(world: World) -> None:
    world.members.unavailable = True
    with pytest.raises(MembershipUnavailable):
        await use_cases.link_account(world.deps, use_cases.LinkAccount("m-1", KB))
    world.members.unavailable, world.bank.down = False, True
    with pytest.raises(BankUnavailable):
        await use_cases.link_account(world.deps, use_cases.LinkAccount("m-1", KB))
    assert world.store.links == {}


# --- fintech-use numbers --------------------------------------------------------------------------


async def test_a_link_keeps_the_fintech_use_number_the_bank_issued_and_transfers_from_it_go_by_it(
    world: World,
) -> None:
    link = await use_cases.link_account(world.deps, use_cases.LinkAccount("m-1", KB))
    assert link.fintech_use_num == world.bank.fintech_uses[KB]

    request = await use_cases.request_firmbanking(world.deps, KB, CORPORATE, 5_000)
    await use_cases.apply_firmbanking_command(world.deps, command("msg-1", "t-2"))
    into_it = await use_cases.request_firmbanking(world.deps, CORPORATE, KB, 1_000)

    sent = [order.source_fintech_use_num for order, _ in world.bank.sent]
    assert sent == [link.fintech_use_num, link.fintech_use_num, None]
    assert request.order.source_fintech_use_num == link.fintech_use_num
    assert into_it.order.source_fintech_use_num is None


async def test_a_link_made_before_fintech_use_numbers_gets_one_at_its_first_use(world: World) -> None:
    world.store.links["m-1"] = RegisteredBankAccount("ra-old", "m-1", KB, True, NOW)

    world.bank.down = True
    await use_cases.apply_firmbanking_command(world.deps, command("msg-1", "t-1"))
    assert world.bank.sent[-1][0].source_fintech_use_num is None, "a bank that issues none does not hold it up"
    assert world.store.links["m-1"].fintech_use_num is None

    world.bank.down = False
    await use_cases.apply_firmbanking_command(world.deps, command("msg-2", "t-2"))
    number = world.bank.fintech_uses[KB]
    assert world.store.links["m-1"].fintech_use_num == number
    assert world.bank.sent[-1][0].source_fintech_use_num == number


async def test_a_retry_after_the_link_got_its_number_is_the_same_order(world: World) -> None:
    world.store.links["m-1"] = RegisteredBankAccount("ra-old", "m-1", KB, True, NOW)
    world.bank.down = True
    await use_cases.apply_firmbanking_command(world.deps, command("msg-1", "t-1"))
    world.bank.down = False

    await use_cases.apply_firmbanking_command(world.deps, command("msg-2", "t-1"))

    assert len(world.store.requests) == 1


# --- firm banking over HTTP -----------------------------------------------------------------------


async def test_a_firm_banking_request_is_sent_once_and_settled_by_the_bank(world: World) -> None:
    request = await use_cases.request_firmbanking(world.deps, KB, CORPORATE, 5_000)
    assert request.status is FirmbankingStatus.SUCCEEDED
    assert [order for order, _ in world.bank.sent] == [request.order]
    assert world.bank.sent[0][1] == NOW + DEADLINES.send_window
    assert world.store.published == [
        TransferSucceeded(request.firmbanking_request_id, request.transfer_id, 5_000, None)
    ]
    assert await use_cases.get_firmbanking(world.deps, request.firmbanking_request_id) == request


@pytest.mark.parametrize(
    ("source", "destination", "refusal"),
    [
        (KB, KB, SameAccount),
        (AccountRef(BANK, "nope"), CORPORATE, BankAccountNotFound),
        (OTHER, CORPORATE, BankAccountInvalid),
    ],
)
async def test_requests_naming_bad_accounts_store_and_send_nothing(
    world: World, source: AccountRef, destination: AccountRef, refusal: type[Exception]
) -> None:
    world.bank.accounts[OTHER] = False
    with pytest.raises(refusal):
        await use_cases.request_firmbanking(world.deps, source, destination, 5_000)
    assert world.store.requests == {} and world.bank.sent == []


def wake_at(request: FirmbankingRequest) -> datetime:
    assert request.wake_at is not None, f"{request.firmbanking_request_id} is settled"
    return request.wake_at


async def test_a_silent_bank_leaves_the_request_pending_for_its_saga(world: World) -> None:
    world.bank.answers = [Unknown("timeout")]
    # The bank did execute it: only its answer was lost.
    pending = await use_cases.request_firmbanking(world.deps, KB, CORPORATE, 5_000)
    world.bank.executed[pending.transfer_id] = Settled(True, None, pending.transfer_id)
    assert pending.status is FirmbankingStatus.REQUESTED
    assert wake_at(pending) == NOW + DEADLINES.recheck.delay(1)
    assert world.store.published == []

    world.clock.now = wake_at(pending)
    assert await run_timer(world) == [pending.firmbanking_request_id]

    settled = await use_cases.get_firmbanking(world.deps, pending.firmbanking_request_id)
    assert settled.status is FirmbankingStatus.SUCCEEDED and settled.wake_at is None
    assert len(world.bank.sent) == 1, "the saga asked, it did not send again"
    assert [type(event) for event in world.store.published] == [TransferSucceeded]


async def test_the_saga_sends_again_what_the_bank_never_received_within_the_window(world: World) -> None:
    world.bank.answers = [Unknown("timeout")]
    pending = await use_cases.request_firmbanking(world.deps, KB, CORPORATE, 5_000)
    world.clock.now = wake_at(pending)
    await run_timer(world)
    assert [order.transfer_id for order, _ in world.bank.sent] == [pending.transfer_id] * 2
    request = await use_cases.get_firmbanking(world.deps, pending.firmbanking_request_id)
    assert request.status is FirmbankingStatus.SUCCEEDED


async def test_a_request_the_bank_answers_unreadably_about_does_not_hold_up_the_others(world: World) -> None:
    world.bank.answers = [Unknown("timeout"), Unknown("timeout")]
    garbled = await use_cases.request_firmbanking(world.deps, KB, CORPORATE, 5_000)
    fine = await use_cases.request_firmbanking(world.deps, KB, OTHER, 7_000)
    world.bank.garbled.add(garbled.transfer_id)
    world.clock.now = max(wake_at(garbled), wake_at(fine))
    await run_timer(world)
    assert (await use_cases.get_firmbanking(world.deps, fine.firmbanking_request_id)).is_settled
    still = await use_cases.get_firmbanking(world.deps, garbled.firmbanking_request_id)
    assert still.status is FirmbankingStatus.REQUESTED and wake_at(still) > world.clock.now


async def test_a_bank_down_past_the_window_fails_the_request_only_once_it_says_never_received(world: World) -> None:
    world.bank.answers = [Unknown("connection refused")]
    pending = await use_cases.request_firmbanking(world.deps, KB, CORPORATE, 5_000)
    world.bank.down = True
    world.clock.now = pending.created_at + DEADLINES.send_window + DEADLINES.not_received_grace
    await run_timer(world)
    assert (await use_cases.get_firmbanking(world.deps, pending.firmbanking_request_id)).status is (
        FirmbankingStatus.REQUESTED
    )

    world.bank.down = False
    world.clock.now += DEADLINES.recheck.max_delay
    assert await run_timer(world) == [pending.firmbanking_request_id]
    failed = await use_cases.get_firmbanking(world.deps, pending.firmbanking_request_id)
    assert (failed.status, failed.reason) == (FirmbankingStatus.FAILED, NOT_RECEIVED_BY_BANK)
    assert len(world.bank.sent) == 1, "nothing is sent after the window"
    assert world.store.published == [
        TransferFailed(failed.firmbanking_request_id, failed.transfer_id, NOT_RECEIVED_BY_BANK, None)
    ]


async def test_the_saga_leaves_requests_that_are_not_due_alone(world: World) -> None:
    world.bank.answers = [Unknown("timeout")]
    pending = await use_cases.request_firmbanking(world.deps, KB, CORPORATE, 5_000)
    world.clock.now = wake_at(pending) - timedelta(microseconds=1)
    assert await run_timer(world) == []
    # Handed over anyway, as by a timer that read the row just before another instance moved it on.
    await use_cases.check_firmbanking(world.deps, pending.firmbanking_request_id)
    assert len(world.bank.sent) == 1 and world.bank.asked == []


async def test_a_check_holds_the_request_for_its_lease_and_lets_go_of_the_lock_before_calling_the_bank(
    world: World,
) -> None:
    world.bank.answers = [Unknown("timeout")]
    pending = await use_cases.request_firmbanking(world.deps, KB, CORPORATE, 5_000)
    world.clock.now = wake_at(pending)
    seen_at_the_bank: list[datetime] = []

    async def look() -> None:
        seen_at_the_bank.append(wake_at(world.store.requests[pending.firmbanking_request_id]))

    world.bank.in_flight = look
    await run_timer(world)
    # While the bank was asked, the hold was committed (FakeBank checks no unit of work was open).
    assert seen_at_the_bank == [world.clock.now + DEADLINES.lease]
    assert (await use_cases.get_firmbanking(world.deps, pending.firmbanking_request_id)).is_settled


async def test_a_requester_that_stops_before_the_bank_answers_leaves_a_saga_that_resumes_after_the_lease(
    world: World,
) -> None:
    async def stop() -> None:
        raise asyncio.CancelledError  # the process is stopped, or crashes, while the bank is called

    world.bank.in_flight = stop
    with pytest.raises(asyncio.CancelledError):
        await use_cases.request_firmbanking(world.deps, KB, CORPORATE, 5_000)
    (pending,) = world.store.requests.values()
    assert pending.status is FirmbankingStatus.REQUESTED and world.bank.sent == []

    world.clock.now = NOW + DEADLINES.lease - timedelta(microseconds=1)
    assert await run_timer(world) == []
    world.clock.now = NOW + DEADLINES.lease
    assert await run_timer(world) == [pending.firmbanking_request_id]

    assert [order for order, _ in world.bank.sent] == [pending.order]
    settled = await use_cases.get_firmbanking(world.deps, pending.firmbanking_request_id)
    assert settled.status is FirmbankingStatus.SUCCEEDED
    assert [type(event) for event in world.store.published] == [TransferSucceeded]


async def test_a_check_that_stops_after_taking_the_request_is_taken_up_again_after_the_lease(world: World) -> None:
    world.bank.answers = [Unknown("timeout")]
    pending = await use_cases.request_firmbanking(world.deps, KB, CORPORATE, 5_000)
    world.clock.now = wake_at(pending)

    async def stop() -> None:
        raise asyncio.CancelledError

    world.bank.in_flight = stop
    with pytest.raises(asyncio.CancelledError):
        await run_timer(world)
    held = await use_cases.get_firmbanking(world.deps, pending.firmbanking_request_id)
    assert (held.status, wake_at(held), held.checks) == (
        FirmbankingStatus.REQUESTED,
        world.clock.now + DEADLINES.lease,
        pending.checks,
    )

    world.clock.now = wake_at(held)
    assert await run_timer(world) == [pending.firmbanking_request_id]
    assert (await use_cases.get_firmbanking(world.deps, pending.firmbanking_request_id)).is_settled
    assert [type(event) for event in world.store.published] == [TransferSucceeded]


async def test_a_requester_whose_answer_comes_after_the_saga_settled_the_request_changes_nothing(
    world: World,
) -> None:
    world.bank.answers = [Unknown("timeout")]

    async def the_saga_settles_it_meanwhile() -> None:
        (pending,) = world.store.requests.values()
        world.bank.executed[pending.transfer_id] = Settled(True, None, pending.transfer_id)
        world.clock.now = wake_at(pending)
        assert await run_timer(world) == [pending.firmbanking_request_id]

    world.bank.in_flight = the_saga_settles_it_meanwhile
    answered = await use_cases.request_firmbanking(world.deps, KB, CORPORATE, 5_000)

    assert answered.status is FirmbankingStatus.SUCCEEDED, "the stored request, not the late answer, is the truth"
    assert [type(event) for event in world.store.published] == [TransferSucceeded]
    assert len(world.bank.sent) == 1


# --- firm banking commands ------------------------------------------------------------------------


async def test_a_command_delivered_twice_is_applied_once(world: World) -> None:
    await use_cases.apply_firmbanking_command(world.deps, command("msg-1"))
    await use_cases.apply_firmbanking_command(world.deps, command("msg-1"))
    assert len(world.store.requests) == 1 and len(world.bank.sent) == 1
    (request,) = world.store.requests.values()
    assert request.correlation_id == "saga-1"
    assert world.store.published == [TransferSucceeded(request.firmbanking_request_id, "t-1", 5_000, "saga-1")]


async def test_a_re_sent_command_moves_nothing_again_and_gets_the_outcome_again(world: World) -> None:
    await use_cases.apply_firmbanking_command(world.deps, command("msg-1"))
    await use_cases.apply_firmbanking_command(world.deps, command("msg-2", correlation_id="saga-1b"))
    assert len(world.store.requests) == 1 and len(world.bank.sent) == 1
    assert [event.correlation_id for event in world.store.published] == ["saga-1", "saga-1b"]


async def test_a_command_re_sent_while_pending_is_answered_once_on_settling(world: World) -> None:
    world.bank.answers = [Unknown("timeout")]
    await use_cases.apply_firmbanking_command(world.deps, command("msg-1"))
    await use_cases.apply_firmbanking_command(world.deps, command("msg-2"))
    assert world.store.published == [] and len(world.bank.sent) == 1

    world.clock.now += DEADLINES.lease
    await run_timer(world)
    assert [type(event) for event in world.store.published] == [TransferSucceeded]


async def test_a_transfer_id_naming_another_transfer_is_refused_and_not_recorded(world: World) -> None:
    await use_cases.apply_firmbanking_command(world.deps, command("msg-1"))
    with pytest.raises(TransferIdReused):
        await use_cases.apply_firmbanking_command(world.deps, command("msg-2", amount=9_999))
    assert ("banking-request-firmbanking", "msg-2") not in world.store.inbox
    assert len(world.store.published) == 1 and len(world.bank.sent) == 1


async def test_a_member_s_transfers_are_those_of_its_linked_account(world: World) -> None:
    assert await use_cases.firmbanking_of_member(world.deps, "m-1", 10) == []
    await use_cases.link_account(world.deps, use_cases.LinkAccount("m-1", KB))
    mine = await use_cases.request_firmbanking(world.deps, KB, CORPORATE, 1_000)
    world.clock.now += timedelta(seconds=1)
    back = await use_cases.request_firmbanking(world.deps, CORPORATE, KB, 500)
    await use_cases.request_firmbanking(world.deps, OTHER, CORPORATE, 700)
    listed = await use_cases.firmbanking_of_member(world.deps, "m-1", 10)
    assert [r.firmbanking_request_id for r in listed] == [back.firmbanking_request_id, mine.firmbanking_request_id]
    corporate = CORPORATE.bank_account_number, CORPORATE.bank_name
    by_number = await use_cases.firmbanking_of_account(world.deps, *corporate, 2)
    assert len(by_number) == 2
