"""What money remembers of its wallets between units of work: copies, bounded, forgettable."""

from pay.money.adapters.db import WalletMemory
from pay.money.domain.wallet import Wallet


def test_a_recalled_wallet_is_a_copy() -> None:
    memory = WalletMemory()
    memory.remember([Wallet("alice", balance=500, held=100, version=3, holds={"r": 100})])
    recalled = memory.recall(["alice", "bob"])["alice"]
    recalled.balance = 0
    recalled.holds.clear()
    assert memory.recall(["alice"]) == {"alice": Wallet("alice", balance=500, held=100, version=3, holds={"r": 100})}


def test_the_least_recently_remembered_wallet_goes_first() -> None:
    memory = WalletMemory(capacity=2)
    memory.remember([Wallet("alice"), Wallet("bob")])
    memory.remember([Wallet("alice", version=2)])
    memory.remember([Wallet("carol")])
    assert sorted(memory.recall(["alice", "bob", "carol"])) == ["alice", "carol"]


def test_a_forgotten_wallet_is_read_again() -> None:
    memory = WalletMemory()
    memory.remember([Wallet("alice")])
    memory.forget(["alice"])
    assert memory.recall(["alice"]) == {}
