"""The wallets as this process last read or wrote them: the guess a group of transfers is written on."""

from collections.abc import Iterable, Sequence

from pay.money.domain.wallet import Wallet


class WalletCache:
    """Shared by every unit of work of the process, for `SqlWalletRepository.latest`.

    What it holds is only a guess: the journal refuses a write based on an outdated wallet, for
    instance one another process of the service changed. It may fall behind the database, never get
    ahead of it: units of work put in what they read, and what they wrote only once it is committed.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self._wallets: dict[str, tuple[int, int, int, dict[str, int]]] = {}
        self._capacity = capacity

    def recall(self, membership_ids: Sequence[str]) -> dict[str, Wallet]:
        recalled = {}
        for membership_id in membership_ids:
            if (known := self._wallets.get(membership_id)) is not None:
                balance, held, version, holds = known
                recalled[membership_id] = Wallet(membership_id, balance, held, version, dict(holds))
        return recalled

    def remember(self, wallets: Iterable[Wallet]) -> None:
        for wallet in wallets:
            self._wallets.pop(wallet.membership_id, None)
            self._wallets[wallet.membership_id] = (wallet.balance, wallet.held, wallet.version, dict(wallet.holds))
        while len(self._wallets) > self._capacity:
            del self._wallets[next(iter(self._wallets))]  # the least recently remembered

    def forget(self, membership_ids: Iterable[str]) -> None:
        for membership_id in membership_ids:
            self._wallets.pop(membership_id, None)
