"""What money caches of its wallets between units of work: copies, bounded, forgettable."""

from pay.money.adapters.wallet_cache import WalletCache
from pay.money.domain.wallet import Wallet


def test_a_recalled_wallet_is_a_copy() -> None:
    cache = WalletCache()
    cache.remember([Wallet("alice", balance=500, held=100, version=3, holds={"r": 100})])
    recalled = cache.recall(["alice", "bob"])["alice"]
    recalled.balance = 0
    recalled.holds.clear()
    assert cache.recall(["alice"]) == {"alice": Wallet("alice", balance=500, held=100, version=3, holds={"r": 100})}


def test_the_least_recently_remembered_wallet_goes_first() -> None:
    cache = WalletCache(capacity=2)
    cache.remember([Wallet("alice"), Wallet("bob")])
    cache.remember([Wallet("alice", version=2)])
    cache.remember([Wallet("carol")])
    assert sorted(cache.recall(["alice", "bob", "carol"])) == ["alice", "carol"]


def test_a_forgotten_wallet_is_read_again() -> None:
    cache = WalletCache()
    cache.remember([Wallet("alice")])
    cache.forget(["alice"])
    assert cache.recall(["alice"]) == {}
