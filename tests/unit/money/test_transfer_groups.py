"""A group of transfers: each on its own, written first on a guess and again carefully when it was wrong."""

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from pay.money.application.ports import OptimisticConcurrencyConflict
from pay.money.application.transfers import CAREFUL_ATTEMPTS, TransferOrder, transfer_together
from pay.money.domain.members import MemberDeactivated, RecipientDeactivated
from pay.money.domain.requests import MoneyChangingRequest
from pay.money.domain.wallet import InsufficientBalance, Wallet, WalletNotFound

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LIMIT = 10**13


@dataclass
class Ledger:
    """What an in-memory database holds between units of work, and what the service last saw of it."""

    wallets: dict[str, Wallet]
    seen: dict[str, Wallet] = field(default_factory=dict)
    answers: dict[str, object] = field(default_factory=dict)
    requests: list[MoneyChangingRequest] = field(default_factory=list)
    commits: int = 0
    locks: int = 0
    keys_stored_meanwhile: int = 0
    deactivated: set[str] = field(default_factory=set)


class FakeWallets:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    async def lock(self, membership_ids: Sequence[str]) -> Mapping[str, Wallet]:
        self._ledger.locks += 1
        return {key: copy.deepcopy(self._ledger.wallets[key]) for key in membership_ids if key in self._ledger.wallets}

    async def latest(self, membership_ids: Sequence[str]) -> Mapping[str, Wallet]:
        # What the service saw last, else what it reads now.
        found = {key: self._ledger.seen.get(key, self._ledger.wallets.get(key)) for key in membership_ids}
        return {key: copy.deepcopy(wallet) for key, wallet in found.items() if wallet is not None}


class FakeMembers:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    async def deactivated_among(self, membership_ids: Sequence[str]) -> set[str]:
        return self._ledger.deactivated & set(membership_ids)


class FakeUnitOfWork:
    """Refuses, as the journal does, a write of a wallet whose version moved on, or of a key already kept."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self.wallets = FakeWallets(ledger)
        self.members = FakeMembers(ledger)
        self._written: list[Wallet] = []
        self._saved: list[MoneyChangingRequest] = []
        self._kept: dict[str, object] = {}

    async def __aenter__(self) -> "FakeUnitOfWork":
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    async def earlier_answers(self, keys: Sequence[Any]) -> list[object | None]:
        return [self._ledger.answers.get(key) for key in keys]

    async def save_transfers(
        self,
        requests: Sequence[MoneyChangingRequest],
        wallets: Sequence[Wallet],
        answers: Sequence[tuple[Any, object]],
        guarded: Sequence[str] = (),
    ) -> None:
        if any(w.membership_id in self._ledger.deactivated & set(guarded) for w in wallets):
            raise OptimisticConcurrencyConflict()
        if self._ledger.keys_stored_meanwhile:
            self._ledger.keys_stored_meanwhile -= 1
            raise OptimisticConcurrencyConflict()
        for changed in wallets:
            if self._ledger.wallets[changed.membership_id].version != changed.version - len(changed.changes):
                raise OptimisticConcurrencyConflict(changed.membership_id)
        if any(key in self._ledger.answers for key, _ in answers):
            raise OptimisticConcurrencyConflict()
        for changed in wallets:
            changed.changes.clear()
        self._written = list(wallets)
        self._saved = list(requests)
        self._kept = {key: f"answered {type(outcome).__name__}" for key, outcome in answers}

    async def commit(self) -> None:
        for written in self._written:
            self._ledger.wallets[written.membership_id] = written
            self._ledger.seen[written.membership_id] = copy.deepcopy(written)
        self._ledger.requests += self._saved
        self._ledger.answers.update(self._kept)
        self._ledger.commits += 1


def ledger_with(**balances: int) -> Ledger:
    wallets = {}
    for name, balance in balances.items():
        wallet = Wallet.open(name, NOW)
        if balance:
            wallet.credit(balance, "seed", NOW, LIMIT)
        wallet.changes.clear()
        wallets[name] = wallet
    return Ledger(wallets)


def changed_elsewhere(ledger: Ledger, name: str, balance: int) -> None:
    """Another process changes the wallet: what this one saw of it is outdated."""
    ledger.seen[name] = copy.deepcopy(ledger.wallets[name])
    wallet = ledger.wallets[name]
    if balance > wallet.balance:
        wallet.credit(balance - wallet.balance, "elsewhere", NOW, LIMIT)
    else:
        wallet.debit(wallet.balance - balance, "elsewhere", NOW)
    wallet.changes.clear()


async def run(ledger: Ledger, *orders: TransferOrder) -> list[Any]:
    return await transfer_together(lambda: FakeUnitOfWork(ledger), lambda: NOW, LIMIT, orders)  # type: ignore[arg-type]


async def test_a_group_is_written_on_a_guess_without_locks() -> None:
    ledger = ledger_with(alice=1_000, bob=0)
    outcomes = await run(ledger, TransferOrder("alice", "bob", 700), TransferOrder("bob", "alice", 200))
    assert all(isinstance(outcome, MoneyChangingRequest) for outcome in outcomes)
    assert (ledger.wallets["alice"].balance, ledger.wallets["bob"].balance) == (500, 500)
    assert ledger.locks == 0 and ledger.commits == 1


async def test_each_transfer_of_a_group_succeeds_or_is_refused_on_its_own() -> None:
    ledger = ledger_with(alice=1_000, bob=0)
    outcomes = await run(
        ledger,
        TransferOrder("alice", "bob", 700),
        TransferOrder("alice", "bob", 700),
        TransferOrder("bob", "nobody", 1),
        TransferOrder("bob", "alice", 200),
    )
    assert [type(outcome) for outcome in outcomes] == [
        MoneyChangingRequest,
        InsufficientBalance,
        WalletNotFound,
        MoneyChangingRequest,
    ]
    assert (ledger.wallets["alice"].balance, ledger.wallets["bob"].balance) == (500, 500)
    assert ledger.requests == [outcomes[0], outcomes[3]] and ledger.commits == 1
    assert ledger.locks == 1, "refusals are given on locked wallets only"


@pytest.mark.parametrize(
    ("seen", "now", "outcome", "balances"),
    [
        (1_000, 100, InsufficientBalance, (100, 0)),  # the guess would pay: the write is refused, then the transfer
        (0, 1_000, MoneyChangingRequest, (300, 700)),  # the guess would refuse: checked on the locked wallet
    ],
)
async def test_a_guess_on_an_outdated_wallet_is_decided_again_on_the_locked_wallet(
    seen: int, now: int, outcome: type, balances: tuple[int, int]
) -> None:
    ledger = ledger_with(alice=seen, bob=0)
    changed_elsewhere(ledger, "alice", now)
    outcomes = await run(ledger, TransferOrder("alice", "bob", 700))
    assert isinstance(outcomes[0], outcome)
    assert (ledger.wallets["alice"].balance, ledger.wallets["bob"].balance) == balances
    assert ledger.locks == 1


async def test_a_key_answered_before_gets_that_answer_and_moves_nothing() -> None:
    ledger = ledger_with(alice=1_000, bob=0)
    ledger.answers["key-1"] = "the first answer"
    outcomes = await run(ledger, TransferOrder("alice", "bob", 300, key="key-1"))
    assert outcomes == ["the first answer"]
    assert ledger.wallets["alice"].balance == 1_000 and ledger.requests == [] and ledger.commits == 0


async def test_a_new_key_keeps_its_answer_with_the_effect_refusals_included() -> None:
    ledger = ledger_with(alice=1_000, bob=0)
    await run(ledger, TransferOrder("alice", "bob", 300, key="paid"), TransferOrder("bob", "alice", 5_000, key="short"))
    assert ledger.answers == {"paid": "answered MoneyChangingRequest", "short": "answered InsufficientBalance"}
    assert ledger.commits == 1


async def test_a_group_of_refusals_without_keys_commits_nothing() -> None:
    ledger = ledger_with(alice=0, bob=0)
    outcomes = await run(ledger, TransferOrder("alice", "bob", 1))
    assert isinstance(outcomes[0], InsufficientBalance) and ledger.commits == 0


async def test_careful_writes_are_tried_a_few_times_then_the_group_fails_whole() -> None:
    # The ledger refuses the next writes as if keys had been stored meanwhile, without storing any:
    # what is counted here is the attempts.
    ledger = ledger_with(alice=1_000, bob=0)
    ledger.keys_stored_meanwhile = CAREFUL_ATTEMPTS
    assert isinstance((await run(ledger, TransferOrder("alice", "bob", 1, key="k")))[0], MoneyChangingRequest)
    ledger.keys_stored_meanwhile = 1 + CAREFUL_ATTEMPTS
    with pytest.raises(OptimisticConcurrencyConflict):
        await run(ledger, TransferOrder("alice", "bob", 1, key="other"))
    assert ledger.wallets["alice"].balance == 999 and ledger.commits == 1


async def test_a_deactivated_member_moves_nothing_and_its_key_stays_unused() -> None:
    ledger = ledger_with(alice=1_000, bob=0, carol=0)
    ledger.deactivated = {"alice", "carol"}
    outcomes = await run(
        ledger,
        TransferOrder("alice", "bob", 100, key="by-alice", acting_member="alice"),
        TransferOrder("alice", "bob", 200),  # an admin acts for a deactivated member
        TransferOrder("bob", "carol", 1, key="to-carol", acting_member="bob"),
    )
    assert isinstance(outcomes[0], MemberDeactivated)
    assert isinstance(outcomes[1], MoneyChangingRequest)
    assert isinstance(outcomes[2], RecipientDeactivated)
    assert (ledger.wallets["alice"].balance, ledger.wallets["bob"].balance) == (800, 200)
    assert ledger.answers == {}
