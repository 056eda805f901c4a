"""Wallets and their journal: read, locked, and written with the balances they lead to."""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from pay.money.adapters.tables import wallet_events, wallets
from pay.money.adapters.wallet_cache import WalletCache
from pay.money.application.ports import HistoryPage, OptimisticConcurrencyConflict
from pay.money.domain.wallet import Wallet, WalletAlreadyExists, WalletEvent, WalletEventKind
from pay.platform.db import as_rows, rows_parameter, utcnow
from pay.platform.paging import cut_page

# Groups of rows go in as one JSON document each (`rows_parameter`), one statement part per table; the
# parts are joined as data-modifying CTEs so that whatever changes together is written in one round
# trip. Every changed wallet is guarded by the version it was read at, and its journal takes each
# version only once (its primary key), so a write based on an outdated wallet fails whole. Inserted rows
# are taken whole (`SELECT *` of the table's row type), so a column added later must be given here: a
# missing key is NULL, not the column's default.
EVENTS_SQL = """
    INSERT INTO wallet_events SELECT * FROM json_populate_recordset(NULL::wallet_events, CAST(:events AS json))
"""
# Every wallet a write changes is locked in key order first, as `_LOCK_WALLETS` does, so a write of
# wallets read without a lock cannot deadlock with another. PostgreSQL runs the data-modifying parts of
# a statement after its main part, so the journal is written only under these locks.
LOCKED_SQL = """
    locked AS MATERIALIZED (
        SELECT membership_id FROM wallets
        WHERE membership_id = ANY(
            ARRAY(SELECT l.membership_id FROM json_to_recordset(CAST(:folds AS json)) AS l(membership_id text))
        )
        ORDER BY membership_id
        FOR UPDATE
    )
"""


def folds_sql(condition: str = "") -> str:
    """The update of the changed wallets' balances; `condition` (`AND ...` on `w`) may keep a wallet from
    being written, and so fail the whole write."""
    return f"""
    UPDATE wallets AS w
    SET balance = f.balance, held = f.held, version = f.version, holds = f.holds, updated_at = :now
    FROM json_to_recordset(CAST(:folds AS json))
        AS f(membership_id text, balance bigint, held bigint, version int, read_version int, holds jsonb)
    WHERE w.membership_id = f.membership_id AND w.version = f.read_version
        AND w.membership_id = ANY(ARRAY(SELECT membership_id FROM locked)) {condition}
    RETURNING w.membership_id
"""


FOLDS_SQL = folds_sql()
WALLET_PARAMETERS = (
    rows_parameter("events"),
    rows_parameter("folds"),
    sa.bindparam("now", type_=sa.DateTime(timezone=True)),
)

_APPEND_EVENTS = sa.text(EVENTS_SQL).bindparams(rows_parameter("events"))
_SAVE_WALLETS = sa.text(f"WITH appended AS ({EVENTS_SQL}), {LOCKED_SQL} {FOLDS_SQL}").bindparams(*WALLET_PARAMETERS)

_READ_WALLETS = (
    wallets.select()
    .where(wallets.c.membership_id == sa.func.any(sa.bindparam("ids", type_=ARRAY(sa.String))))
    .order_by(wallets.c.membership_id)
)
# Locking in key order means two transfers in opposite directions can never deadlock.
_LOCK_WALLETS = _READ_WALLETS.with_for_update()

# The failures of a wallet write that mean another transaction came first: a journal version or a key
# taken meanwhile (unique violation), or a deadlock over keys two requests with the same keys raced for.
_CONFLICTS = {"23505", "40P01"}


@dataclass(frozen=True)
class WalletSaved:
    """A wallet as a write left it, for the event that tells other services."""

    membership_id: str
    available: int
    version: int
    changed_at: datetime


class SqlWalletRepository:
    def __init__(self, connection: AsyncConnection, cache: WalletCache) -> None:
        self._connection = connection
        self._cache = cache
        # What this unit of work wrote, for the cache once it commits; and every wallet it tried to
        # write, for the cache to forget what was not committed.
        self.written: list[Wallet] = []
        self.tried: list[Wallet] = []
        # The latest standing of every wallet written, taken before the write clears its changes.
        self._saved: dict[str, WalletSaved] = {}

    async def add(self, wallet: Wallet) -> None:
        inserted = await self._connection.execute(
            insert(wallets).values(**_snapshot(wallet), updated_at=utcnow()).on_conflict_do_nothing()
        )
        if not inserted.rowcount:
            raise WalletAlreadyExists(wallet.membership_id)
        await self._connection.execute(_APPEND_EVENTS, {"events": _event_rows([wallet])})
        self._remember_saved([wallet])
        self.tried.append(wallet)
        self.written.append(wallet)

    async def get(self, membership_id: str) -> Wallet | None:
        statement = wallets.select().where(wallets.c.membership_id == membership_id)
        row = (await self._connection.execute(statement)).first()
        return _wallet(row) if row is not None else None

    async def lock(self, membership_ids: Sequence[str]) -> Mapping[str, Wallet]:
        return await self._read(_LOCK_WALLETS, membership_ids)

    async def latest(self, membership_ids: Sequence[str]) -> Mapping[str, Wallet]:
        found = self._cache.recall(membership_ids)
        if unknown := [membership_id for membership_id in membership_ids if membership_id not in found]:
            found.update(await self._read(_READ_WALLETS, unknown))
        return found

    async def _read(self, statement: sa.Select[Any], membership_ids: Sequence[str]) -> dict[str, Wallet]:
        read = [_wallet(row) for row in await self._connection.execute(statement, {"ids": list(membership_ids)})]
        self._cache.remember(read)
        return {wallet.membership_id: wallet for wallet in read}

    async def save(self, *changed: Wallet) -> None:
        if changed:
            await self.write(_SAVE_WALLETS, wallet_values(changed), changed)

    async def write(self, statement: sa.TextClause, values: Mapping[str, Any], changed: Sequence[Wallet]) -> None:
        """Run a statement that saves these wallets; `OptimisticConcurrencyConflict` if another
        transaction came first."""
        self.tried += changed
        try:
            result = await self._connection.execute(statement, values)
        except sa.exc.DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) in _CONFLICTS:
                raise OptimisticConcurrencyConflict() from error
            raise
        updated = set(result.scalars())
        if all(wallet.membership_id in updated for wallet in changed):
            self._remember_saved(changed)
        _check_saved(changed, updated)
        self.written += changed

    def _remember_saved(self, wallets: Sequence[Wallet]) -> None:
        for wallet in wallets:
            if wallet.changes:
                self._saved[wallet.membership_id] = WalletSaved(
                    wallet.membership_id, wallet.available, wallet.version, wallet.changes[-1].occurred_at
                )

    def drain_saved(self) -> Iterator[WalletSaved]:
        """Each wallet written since the last drain, once, as its last write left it."""
        while self._saved:
            yield self._saved.pop(next(iter(self._saved)))

    async def balances(self, membership_ids: Sequence[str]) -> Mapping[str, int]:
        statement = sa.select(wallets.c.membership_id, wallets.c.balance - wallets.c.held).where(
            wallets.c.membership_id.in_(membership_ids)
        )
        return {membership_id: int(available) for membership_id, available in await self._connection.execute(statement)}

    async def history(
        self, membership_id: str, since: datetime | None, until: datetime | None, cursor: str | None, limit: int
    ) -> HistoryPage:
        statement = wallet_events.select().where(
            wallet_events.c.membership_id == membership_id, wallet_events.c.kind != WalletEventKind.OPENED.value
        )
        if cursor is not None:
            statement = statement.where(wallet_events.c.version < int(cursor))
        if since is not None:
            statement = statement.where(wallet_events.c.occurred_at >= since)
        if until is not None:
            statement = statement.where(wallet_events.c.occurred_at < until)
        rows = (
            await self._connection.execute(statement.order_by(wallet_events.c.version.desc()).limit(limit + 1))
        ).all()
        events, next_cursor = cut_page([_event(row) for row in rows], limit, lambda event: str(event.version))
        return HistoryPage(events, next_cursor)

    async def membership_ids(self) -> Sequence[str]:
        return list((await self._connection.execute(sa.select(wallets.c.membership_id))).scalars())

    async def journal(self, membership_id: str) -> Sequence[WalletEvent]:
        statement = (
            wallet_events.select()
            .where(wallet_events.c.membership_id == membership_id)
            .order_by(wallet_events.c.version)
        )
        return [_event(row) for row in await self._connection.execute(statement)]

    async def totals(self) -> tuple[int, int, int]:
        statement = sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(wallets.c.balance), 0),
            sa.func.coalesce(sa.func.sum(wallets.c.held), 0),
        )
        count, balance, held = (await self._connection.execute(statement)).one()
        return int(count), int(balance), int(held)


def wallet_values(changed: Sequence[Wallet]) -> dict[str, Any]:
    """The values of `WALLET_PARAMETERS`: the new events of these wallets and the balances they lead to."""
    folds = [
        {
            "membership_id": w.membership_id,
            "balance": w.balance,
            "held": w.held,
            "version": w.version,
            "read_version": w.version - len(w.changes),
            "holds": w.holds,
        }
        for w in changed
    ]
    return {"events": _event_rows(changed), "folds": as_rows(folds), "now": utcnow()}


def _event_rows(changed: Sequence[Wallet]) -> str:
    return as_rows(
        [
            {
                "membership_id": event.membership_id,
                "version": event.version,
                "kind": event.kind.value,
                "amount": event.amount,
                "request_id": event.request_id,
                "occurred_at": event.occurred_at,
            }
            for wallet in changed
            for event in wallet.changes
        ]
    )


def _check_saved(changed: Sequence[Wallet], updated: set[str]) -> None:
    for wallet in changed:
        if wallet.membership_id not in updated:
            raise OptimisticConcurrencyConflict(wallet.membership_id)
        wallet.changes.clear()


def _snapshot(wallet: Wallet) -> dict[str, Any]:
    return {
        "membership_id": wallet.membership_id,
        "balance": wallet.balance,
        "held": wallet.held,
        "version": wallet.version,
        "holds": wallet.holds,
    }


def _wallet(row: sa.Row[Any]) -> Wallet:
    return Wallet(row.membership_id, row.balance, row.held, row.version, dict(row.holds))


def _event(row: sa.Row[Any]) -> WalletEvent:
    return WalletEvent(
        row.membership_id, row.version, WalletEventKind(row.kind), row.amount, row.request_id, row.occurred_at
    )
