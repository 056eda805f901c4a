"""The banking use cases against in-memory fakes of their ports."""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
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
    Deadlines,
    FirmbankingEvent,
    FirmbankingRequest,
    FirmbankingRequestNotFound,
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

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DEADLINES = Deadlines(
    send_window=timedelta(seconds=60),
    not_received_grace=timedelta(seconds=10),
    first_check=timedelta(seconds=5),
    recheck_initial=timedelta(seconds=1),
    recheck_max=timedelta(seconds=4),
)
KB, OTHER, PAY = AccountRef("KB", "110-1"), AccountRef("KB", "110-2"), AccountRef("PAYBANK", "100-0000-0001")


@dataclass
class Store:
    """What a database would hold: written only by a unit of work that commits."""

    links: dict[str, RegisteredBankAccount] = field(default_factory=dict)
    requests: dict[str, FirmbankingRequest] = field(default_factory=dict)
    inbox: set[tuple[str, str]] = field(default_factory=set)
    published: list[FirmbankingEvent] = field(default_factory=list)


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

    async def lock(self, firmbanking_request_id: str) -> FirmbankingRequest:
        request = await self.get(firmbanking_request_id)
        if request is None:
            raise FirmbankingRequestNotFound()
        return request

    async def next_due(self, now: datetime) -> FirmbankingRequest | None:
        due = [r for r in self.rows.values() if not r.is_settled and r.next_check_at <= now]
        return replace(min(due, key=lambda r: r.next_check_at), events=[]) if due else None

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
        self.accounts = FakeLinks(dict(self.store.links))
        self.requests = FakeRequests({key: replace(r, events=[]) for key, r in self.store.requests.items()})
        self.inbox = FakeInbox(set(self.store.inbox))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

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
        return MemberStanding(membership_id, self.rows[membership_id], "Kim")


class FakeBank:
    """Answers transfers as told in `answers` (else it moves the money), and remembers what it executed."""

    def __init__(self) -> None:
        self.accounts: dict[AccountRef, bool] = {KB: True, OTHER: True, PAY: True}
        self.answers: list[BankAnswer] = []
        self.executed: dict[str, Settled] = {}
        self.sent: list[tuple[TransferOrder, datetime]] = []
        self.down = False
        self.garbled: set[str] = set()

    async def account(self, account: AccountRef) -> AccountStanding:
        if self.down:
            raise BankUnavailable()
        if account not in self.accounts:
            raise BankAccountNotFound(str(account))
        return AccountStanding(account, self.accounts[account], "Kim")

    async def transfer(self, order: TransferOrder, send_until: datetime) -> BankAnswer:
        self.sent.append((order, send_until))
        answer = self.answers.pop(0) if self.answers else Settled(True, None, order.transfer_id)
        if isinstance(answer, Settled):
            self.executed.setdefault(order.transfer_id, answer)
        return answer

    async def outcome_of(self, transfer_id: str) -> BankAnswer:
        if transfer_id in self.garbled:
            raise ValueError("the bank answered something unreadable")
        if self.down:
            return Unknown("the bank is down")
        return self.executed.get(transfer_id, NotReceived())


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
    store, members, bank, clock = Store(), FakeMembers(), FakeBank(), Clock()
    members.rows = {"m-1": True, "m-2": True, "m-invalid": False}
    deps = use_cases.Dependencies(
        uow=lambda: FakeUnitOfWork(store), members=members, bank=bank, deadlines=DEADLINES, clock=clock
    )
    return World(deps, store, members, bank, clock)


def command(
    message_id: str, transfer_id: str = "t-1", correlation_id: str = "saga-1", amount: int = 5_000
) -> use_cases.FirmbankingCommand:
    return use_cases.FirmbankingCommand(message_id, correlation_id, TransferOrder(transfer_id, KB, PAY, amount))


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
        ("m-1", AccountRef("KB", "no-such-account"), BankAccountNotFound),
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


# --- firm banking over HTTP -----------------------------------------------------------------------


async def test_a_firm_banking_request_is_sent_once_and_settled_by_the_bank(world: World) -> None:
    request = await use_cases.request_firmbanking(world.deps, KB, PAY, 5_000)
    assert request.status is FirmbankingStatus.SUCCEEDED
    assert [order for order, _ in world.bank.sent] == [request.order]
    assert world.bank.sent[0][1] == NOW + DEADLINES.send_window
    assert world.store.published == [
        TransferSucceeded(request.firmbanking_request_id, request.transfer_id, 5_000, None)
    ]
    assert await use_cases.get_firmbanking(world.deps, request.firmbanking_request_id) == request


@pytest.mark.parametrize(
    ("source", "destination", "refusal"),
    [(KB, KB, SameAccount), (AccountRef("KB", "nope"), PAY, BankAccountNotFound), (OTHER, PAY, BankAccountInvalid)],
)
async def test_requests_naming_bad_accounts_store_and_send_nothing(
    world: World, source: AccountRef, destination: AccountRef, refusal: type[Exception]
) -> None:
    world.bank.accounts[OTHER] = False
    with pytest.raises(refusal):
        await use_cases.request_firmbanking(world.deps, source, destination, 5_000)
    assert world.store.requests == {} and world.bank.sent == []


async def test_a_silent_bank_leaves_the_request_pending_for_the_resolver(world: World) -> None:
    world.bank.answers = [Unknown("timeout")]
    # The bank did execute it: only its answer was lost.
    pending = await use_cases.request_firmbanking(world.deps, KB, PAY, 5_000)
    world.bank.executed[pending.transfer_id] = Settled(True, None, pending.transfer_id)
    assert pending.status is FirmbankingStatus.REQUESTED
    assert world.store.published == []

    world.clock.now = pending.next_check_at
    assert await use_cases.settle_due_requests(world.deps) == 1

    settled = await use_cases.get_firmbanking(world.deps, pending.firmbanking_request_id)
    assert settled.status is FirmbankingStatus.SUCCEEDED
    assert len(world.bank.sent) == 1, "the resolver asked, it did not send again"
    assert [type(event) for event in world.store.published] == [TransferSucceeded]


async def test_the_resolver_sends_again_what_the_bank_never_received_within_the_window(world: World) -> None:
    world.bank.answers = [Unknown("timeout")]
    pending = await use_cases.request_firmbanking(world.deps, KB, PAY, 5_000)
    world.clock.now = pending.next_check_at
    await use_cases.settle_due_requests(world.deps)
    assert [order.transfer_id for order, _ in world.bank.sent] == [pending.transfer_id] * 2
    request = await use_cases.get_firmbanking(world.deps, pending.firmbanking_request_id)
    assert request.status is FirmbankingStatus.SUCCEEDED


async def test_a_request_the_bank_answers_unreadably_about_does_not_hold_up_the_others(world: World) -> None:
    world.bank.answers = [Unknown("timeout"), Unknown("timeout")]
    garbled = await use_cases.request_firmbanking(world.deps, KB, PAY, 5_000)
    fine = await use_cases.request_firmbanking(world.deps, KB, OTHER, 7_000)
    world.bank.garbled.add(garbled.transfer_id)
    world.clock.now = max(garbled.next_check_at, fine.next_check_at)
    await use_cases.settle_due_requests(world.deps)
    assert (await use_cases.get_firmbanking(world.deps, fine.firmbanking_request_id)).is_settled
    still = await use_cases.get_firmbanking(world.deps, garbled.firmbanking_request_id)
    assert still.status is FirmbankingStatus.REQUESTED and still.next_check_at > world.clock.now


async def test_a_bank_down_past_the_window_fails_the_request_only_once_it_says_never_received(world: World) -> None:
    world.bank.answers = [Unknown("connection refused")]
    pending = await use_cases.request_firmbanking(world.deps, KB, PAY, 5_000)
    world.bank.down = True
    world.clock.now = pending.created_at + DEADLINES.send_window + DEADLINES.not_received_grace
    await use_cases.settle_due_requests(world.deps)
    assert (await use_cases.get_firmbanking(world.deps, pending.firmbanking_request_id)).status is (
        FirmbankingStatus.REQUESTED
    )

    world.bank.down = False
    world.clock.now += DEADLINES.recheck_max
    assert await use_cases.settle_due_requests(world.deps) == 1
    failed = await use_cases.get_firmbanking(world.deps, pending.firmbanking_request_id)
    assert (failed.status, failed.reason) == (FirmbankingStatus.FAILED, NOT_RECEIVED_BY_BANK)
    assert len(world.bank.sent) == 1, "nothing is sent after the window"
    assert world.store.published == [
        TransferFailed(failed.firmbanking_request_id, failed.transfer_id, NOT_RECEIVED_BY_BANK, None)
    ]


async def test_the_resolver_leaves_requests_that_are_not_due_alone(world: World) -> None:
    world.bank.answers = [Unknown("timeout")]
    pending = await use_cases.request_firmbanking(world.deps, KB, PAY, 5_000)
    world.clock.now = pending.next_check_at - timedelta(microseconds=1)
    assert await use_cases.settle_due_requests(world.deps) == 0
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

    world.clock.now += DEADLINES.first_check
    await use_cases.settle_due_requests(world.deps)
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
    mine = await use_cases.request_firmbanking(world.deps, KB, PAY, 1_000)
    world.clock.now += timedelta(seconds=1)
    back = await use_cases.request_firmbanking(world.deps, PAY, KB, 500)
    await use_cases.request_firmbanking(world.deps, OTHER, PAY, 700)
    listed = await use_cases.firmbanking_of_member(world.deps, "m-1", 10)
    assert [r.firmbanking_request_id for r in listed] == [back.firmbanking_request_id, mine.firmbanking_request_id]
    by_number = await use_cases.firmbanking_of_account(world.deps, "100-0000-0001", "PAYBANK", 2)
    assert len(by_number) == 2
