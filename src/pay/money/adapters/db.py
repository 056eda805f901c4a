"""Money's unit of work: one transaction over its wallets, requests and sagas (SQLAlchemy Core on asyncpg).
Its commit also sends what the sagas ask banking for, the answers to other services' ledger commands, and the
standing of every wallet it changed."""

from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from types import TracebackType

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from pay.contracts.messages import Message
from pay.money.adapters.account_repository import SqlAccountRepository
from pay.money.adapters.bank_leg_repository import SqlBankLegRepository
from pay.money.adapters.journal_check import SqlJournalCheck
from pay.money.adapters.member_repository import GUARDED_PARAMETER, NOT_DEACTIVATED_SQL, SqlMemberStandings
from pay.money.adapters.messaging import firmbanking_command, request_event, wallet_changed
from pay.money.adapters.request_repository import REQUESTS_SQL, SqlRequestRepository, request_rows
from pay.money.adapters.saga_repository import SqlSagaRepository
from pay.money.adapters.wallet_cache import WalletCache
from pay.money.adapters.wallet_repository import (
    EVENTS_SQL,
    LOCKED_SQL,
    WALLET_PARAMETERS,
    SqlWalletRepository,
    folds_sql,
    wallet_values,
)
from pay.money.application.ports import OptimisticConcurrencyConflict
from pay.money.domain.requests import MoneyChangingRequest
from pay.money.domain.wallet import Wallet
from pay.platform.db import SqlUnitOfWork, drain_events, rows_parameter
from pay.platform.idempotency.kept import ANSWERS_PARAMETER, STORE_ANSWERED_KEYS_SQL, KeptAnswers, KeyStoredMeanwhile

# A group of transfers in one round trip: journal events, requests, keys with their answers and balances;
# a guarded wallet of a deactivated member is not written, which fails the whole write.
_SAVE_TRANSFERS = sa.text(
    f"WITH appended AS ({EVENTS_SQL}), added AS ({REQUESTS_SQL}), answered AS ({STORE_ANSWERED_KEYS_SQL}), "
    f"{LOCKED_SQL} {folds_sql(NOT_DEACTIVATED_SQL)}"
).bindparams(*WALLET_PARAMETERS, rows_parameter("requests"), ANSWERS_PARAMETER, GUARDED_PARAMETER)


class MoneyUnitOfWork(SqlUnitOfWork):
    wallets: SqlWalletRepository
    requests: SqlRequestRepository
    sagas: SqlSagaRepository
    members: SqlMemberStandings
    bank_legs: SqlBankLegRepository
    accounts: SqlAccountRepository
    journal: SqlJournalCheck

    def __init__(self, engine: AsyncEngine, on_commit: Callable[[], None], cache: WalletCache) -> None:
        super().__init__(engine, on_commit)
        self._cache = cache
        self._committed = False

    def _open(self) -> None:
        self._answers = KeptAnswers(self.connection)
        self.wallets = SqlWalletRepository(self.connection, self._cache)
        self.requests = SqlRequestRepository(self.connection)
        self.sagas = SqlSagaRepository(self.connection)
        self.members = SqlMemberStandings(self.connection)
        self.bank_legs = SqlBankLegRepository(self.connection)
        self.accounts = SqlAccountRepository(self.connection)
        self.journal = SqlJournalCheck(self.connection)

    def _new_messages(self) -> Iterator[Message]:
        return chain(
            drain_events(self.sagas.seen, firmbanking_command),
            drain_events(self.requests.seen, request_event),
            map(wallet_changed, self.wallets.drain_saved()),
        )

    async def commit(self) -> None:
        await super().commit()
        self._committed = True
        self._cache.remember(self.wallets.written)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await super().__aexit__(exc_type, exc, tb)
        finally:
            committed = {wallet.membership_id for wallet in self.wallets.written} if self._committed else set()
            # The database may hold something else than what was tried and not committed: read it again.
            self._cache.forget(w.membership_id for w in self.wallets.tried if w.membership_id not in committed)

    async def earlier_answers(self, keys: Sequence[object]) -> Sequence[object | Exception | None]:
        return await self._answers.earlier(keys)

    async def keep_answers(self, answers: Sequence[tuple[object, object]]) -> None:
        try:
            await self._answers.keep(answers)
        except KeyStoredMeanwhile as error:
            raise OptimisticConcurrencyConflict() from error

    async def save_transfers(
        self,
        added: Sequence[MoneyChangingRequest],
        changed: Sequence[Wallet],
        answers: Sequence[tuple[object, object]],
        guarded: Sequence[str] = (),
    ) -> None:
        values = {
            **wallet_values(changed),
            "requests": request_rows(added),
            "answers": self._answers.answer_rows(answers),
            "guarded": orjson.dumps(list(guarded)).decode(),
        }
        await self.wallets.write(_SAVE_TRANSFERS, values, changed)
        # Written by the statement above, not by the repository: their events are sent all the same.
        self.requests.seen.extend(added)
