"""A group of transfers: each on its own, keys claimed and answers kept in the group's one transaction."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pay.money.application.transfers import TransferOrder, transfer_together
from pay.money.domain.requests import MoneyChangingRequest
from pay.money.domain.wallet import InsufficientBalance, Wallet, WalletNotFound

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LIMIT = 10**13


@dataclass
class Ledger:
    """What an in-memory database holds between units of work."""

    wallets: dict[str, Wallet]
    answers: dict[str, object] = field(default_factory=dict)
    requests: list[MoneyChangingRequest] = field(default_factory=list)
    commits: int = 0


class FakeWallets:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    async def lock(self, membership_ids: Sequence[str]) -> Mapping[str, Wallet]:
        return {key: self._ledger.wallets[key] for key in membership_ids if key in self._ledger.wallets}


class FakeUnitOfWork:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self.wallets = FakeWallets(ledger)
        self._kept: dict[str, object] = {}
        self._saved: list[MoneyChangingRequest] = []

    async def __aenter__(self) -> "FakeUnitOfWork":
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    async def claim_keys(self, keys: Sequence[Any]) -> list[object | None]:
        return [self._ledger.answers.get(key) for key in keys]

    async def save_transfers(
        self, requests: Sequence[MoneyChangingRequest], wallets: Sequence[Wallet], answers: Sequence[tuple[Any, object]]
    ) -> None:
        for changed in wallets:
            changed.changes.clear()
        self._saved = list(requests)
        self._kept = {key: f"answered {type(outcome).__name__}" for key, outcome in answers}

    async def commit(self) -> None:
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


async def run(ledger: Ledger, *orders: TransferOrder) -> list[Any]:
    return await transfer_together(lambda: FakeUnitOfWork(ledger), lambda: NOW, LIMIT, orders)  # type: ignore[arg-type]


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
