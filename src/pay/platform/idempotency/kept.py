"""Keys kept in the transaction of the effect: a money-moving handler stores its key, with its answer,
by the statement that stores its effect, so key, effect and answer commit together or not at all,
and no failure after the commit can free the key."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pay.platform.db import utcnow
from pay.platform.idempotency.keys import KeyClaim, KeyRefused, KeyResolution, StoredResponse, resolve
from pay.platform.idempotency.store import ANSWERS_PARAMETER, answer_rows, find_keys

# A part of other statements (`WITH answered AS (...)`): the keys and their answers go in in the same
# round trip as the effect. A key stored meanwhile makes the whole statement fail with a unique
# violation; keys go in in one order, so two transactions storing overlapping keys wait on each other
# instead of deadlocking.
STORE_ANSWERED_KEYS_SQL = """
    INSERT INTO idempotency_keys
        (scope, key, request_hash, response_status, response_body, response_headers, created_at)
    SELECT a.scope, a.key, a.request_hash, a.status, decode(a.body, 'base64'), a.headers, :now
    FROM json_to_recordset(CAST(:answers AS json))
        AS a(scope text, key text, request_hash text, status int, body text, headers jsonb)
    ORDER BY a.scope, a.key
"""
_STORE_ANSWERED_KEYS = sa.text(STORE_ANSWERED_KEYS_SQL).bindparams(
    ANSWERS_PARAMETER, sa.bindparam("now", type_=sa.DateTime(timezone=True))
)
__all__ = ["ANSWERS_PARAMETER", "STORE_ANSWERED_KEYS_SQL", "KeptAnswers", "KeptInTransaction", "KeyStoredMeanwhile"]


class KeyStoredMeanwhile(Exception):
    """A request with the same key stored it after it was looked up: its transaction cannot commit."""


@dataclass
class KeptInTransaction:
    """A keyed request whose handler stores the key, with its answer, in the transaction of its effect.

    The middleware only names the key (`middleware.claimed_key`); `render` turns the handler's outcome
    into the answer the caller will receive, so that it can be stored before the transaction commits.
    `kept` is that answer once it was rendered, for the handler to send as it was stored.
    """

    claim: KeyClaim
    render: Callable[[object], StoredResponse]
    kept: StoredResponse | None = field(default=None, init=False)

    def answer(self, outcome: object) -> StoredResponse:
        self.kept = self.render(outcome)
        return self.kept


class KeptAnswers:
    """Looks up keys and keeps answers in the caller's transaction, for `KeptInTransaction` requests.

    Units of work offer it to use cases that take an Idempotency-Key through to their effect; to
    them the keys are opaque.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def earlier(self, calls: Sequence[object]) -> list[KeyResolution]:
        """What each call meets by the rule (`keys.resolve`); a key stored nowhere yet is the call's own."""
        claims = [_kept(call).claim for call in calls]
        stored = await find_keys(self._connection, claims)
        return resolve(claims, stored, new={claim.name for claim in claims if claim.name not in stored})

    async def earlier_one(self, call: object) -> StoredResponse | None:
        """What one call's key was answered before, or None when the key is its own now; raises the
        refusal the call meets instead (reused, in progress, abandoned)."""
        (earlier,) = await self.earlier([call])
        if isinstance(earlier, KeyRefused):
            raise earlier
        return earlier

    async def keep(self, outcomes: Sequence[tuple[object, object]]) -> None:
        """Store each keyed call's key with the answer to its outcome, in the caller's transaction, in a
        statement of its own (`answer_rows` gives the same to a statement that also stores the effect)."""
        try:
            await self._connection.execute(
                _STORE_ANSWERED_KEYS, {"answers": self.answer_rows(outcomes), "now": utcnow()}
            )
        except sa.exc.IntegrityError as error:  # the key's primary key
            raise KeyStoredMeanwhile() from error

    def answer_rows(self, outcomes: Sequence[tuple[object, object]]) -> str:
        """The value of `ANSWERS_PARAMETER` that stores each keyed call's key with the answer to its outcome."""
        return answer_rows([(_kept(call).claim, _kept(call).answer(outcome)) for call, outcome in outcomes])


def _kept(call: object) -> KeptInTransaction:
    assert isinstance(call, KeptInTransaction), call
    return call
