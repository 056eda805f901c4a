"""Keys and answers on their own autocommit connection: a key is claimed before its handler runs and
its answer stored after, for handlers that do not keep their answer themselves (see `kept`)."""

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pay.platform.batching import Batcher
from pay.platform.db import as_rows, idempotency_keys, rows_parameter, utcnow
from pay.platform.idempotency.keys import KEEP_FOR, KeyClaim, KeyResolution, StoredKey, StoredResponse, resolve

# A whole group in one statement each: rows in as one JSON document, one row per key out. Keys are claimed
# in one order, so two transactions claiming overlapping keys wait on each other instead of deadlocking.
_CLAIM_GROUP = sa.text(
    """
    INSERT INTO idempotency_keys (scope, key, request_hash, created_at)
    SELECT scope, key, request_hash, :now
    FROM json_to_recordset(CAST(:claims AS json)) AS c(scope text, key text, request_hash text)
    ORDER BY scope, key
    ON CONFLICT DO NOTHING
    RETURNING scope, key
    """
).bindparams(rows_parameter("claims"))
_FIND_GROUP = sa.text(
    """
    SELECT k.scope, k.key, k.request_hash, k.response_status, k.response_body, k.response_headers, k.created_at
    FROM idempotency_keys AS k
    JOIN json_to_recordset(CAST(:claims AS json)) AS f(scope text, key text) USING (scope, key)
    """
).bindparams(rows_parameter("claims"))
ANSWERS_PARAMETER = rows_parameter("answers")
_STORE_ANSWERS = sa.text(
    """
    UPDATE idempotency_keys AS k
    SET response_status = a.status, response_body = decode(a.body, 'base64'), response_headers = a.headers
    FROM json_to_recordset(CAST(:answers AS json)) AS a(scope text, key text, status int, body text, headers jsonb)
    WHERE k.scope = a.scope AND k.key = a.key
    """
).bindparams(ANSWERS_PARAMETER)
_RELEASE = idempotency_keys.delete().where(
    sa.and_(idempotency_keys.c.scope == sa.bindparam("this_scope"), idempotency_keys.c.key == sa.bindparam("this_key"))
)


async def find_keys(connection: AsyncConnection, claims: Sequence[KeyClaim]) -> dict[tuple[str, str], StoredKey]:
    rows = await connection.execute(_FIND_GROUP, {"claims": _claim_rows(claims)})
    return {(row.scope, row.key): row for row in rows}


async def claim_keys(connection: AsyncConnection, claims: Sequence[KeyClaim]) -> list[KeyResolution]:
    """Claim every new key in one statement; what each request meets, by `resolve`."""
    candidates = list({claim.name: claim for claim in reversed(claims)}.values())
    claimed = {(row.scope, row.key) for row in await connection.execute(_CLAIM_GROUP, _claims(candidates))}
    others = [claim for claim in claims if claim.name not in claimed]
    stored = await find_keys(connection, others) if others else {}
    return resolve(claims, stored, claimed)


def answer_rows(answers: Sequence[tuple[KeyClaim, StoredResponse]]) -> str:
    """The value of `ANSWERS_PARAMETER` that stores these answers."""
    return as_rows(
        [
            {
                "scope": claim.scope,
                "key": claim.key,
                "request_hash": claim.request_hash,
                "status": response.status,
                "body": base64.b64encode(response.body).decode(),
                "headers": response.headers,
            }
            for claim, response in answers
        ]
    )


def _claims(claims: Sequence[KeyClaim]) -> dict[str, object]:
    return {"now": utcnow(), "claims": _claim_rows(claims)}


def _claim_rows(claims: Sequence[KeyClaim]) -> str:
    return as_rows([{"scope": c.scope, "key": c.key, "request_hash": c.request_hash} for c in claims])


@dataclass(frozen=True)
class _Answer:
    claim: KeyClaim
    response: StoredResponse


class IdempotencyStore:
    """Keys and answers, on an autocommit engine (see `create_bookkeeping_engine`).

    Claims and answers are written in groups (`pay.platform.batching`): under load, one statement
    carries the keys of every request that arrived meanwhile.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._claims: Batcher[KeyClaim, StoredResponse | None] = Batcher(self._claim_group)
        self._answers: Batcher[_Answer, None] = Batcher(self._complete_group)

    async def claim(self, claim: KeyClaim) -> StoredResponse | None:
        """Claim the key for this request, or return the response stored for an identical one."""
        return await self._claims.submit(claim)

    async def complete(self, claim: KeyClaim, response: StoredResponse) -> None:
        await self._answers.submit(_Answer(claim, response))

    async def release(self, claim: KeyClaim) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(_RELEASE, {"this_scope": claim.scope, "this_key": claim.key})

    async def forget_expired(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(
                idempotency_keys.delete().where(idempotency_keys.c.created_at < utcnow() - KEEP_FOR)
            )

    async def _claim_group(self, claims: Sequence[KeyClaim]) -> list[KeyResolution]:
        async with self._engine.connect() as connection:
            return await claim_keys(connection, claims)

    async def _complete_group(self, answers: Sequence[_Answer]) -> list[Exception | None]:
        async with self._engine.connect() as connection:
            answered = answer_rows([(answer.claim, answer.response) for answer in answers])
            await connection.execute(_STORE_ANSWERS, {"answers": answered})
        return [None] * len(answers)
