"""Money changing requests: what members asked for, and how it ended."""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pay.money.adapters.tables import requests
from pay.money.domain.requests import ChangeStatus, ChangeType, MoneyChangingRequest
from pay.platform.db import as_rows, rows_parameter

# Rows in as one JSON document (`rows_parameter`), taken whole: a column added later must be given here.
REQUESTS_SQL = """
    INSERT INTO money_changing_requests
    SELECT * FROM json_populate_recordset(NULL::money_changing_requests, CAST(:requests AS json))
"""
_ADD_REQUESTS = sa.text(REQUESTS_SQL).bindparams(rows_parameter("requests"))


class SqlRequestRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        # What this unit of work wrote: their recorded events are sent when it commits.
        self.seen: list[MoneyChangingRequest] = []

    async def add(self, *added: MoneyChangingRequest) -> None:
        await self._connection.execute(_ADD_REQUESTS, {"requests": request_rows(added)})
        self.seen.extend(added)

    async def get(self, request_id: str, *, for_update: bool = False) -> MoneyChangingRequest | None:
        statement = requests.select().where(requests.c.request_id == request_id)
        row = (await self._connection.execute(statement.with_for_update() if for_update else statement)).first()
        if row is None:
            return None
        return MoneyChangingRequest(
            request_id=row.request_id,
            change_type=ChangeType(row.change_type),
            target_membership_id=row.target_membership_id,
            amount=row.amount,
            status=ChangeStatus(row.status),
            created_at=row.created_at,
            updated_at=row.updated_at,
            counterpart_membership_id=row.counterpart_membership_id,
            reason=row.reason,
            answer_to=row.answer_to,
            franchise_id=row.franchise_id,
        )

    async def save(self, request: MoneyChangingRequest) -> None:
        statement = requests.update().where(requests.c.request_id == request.request_id)
        await self._connection.execute(statement.values(**_request_columns(request)))
        self.seen.append(request)

    async def count_pending(self) -> int:
        statement = sa.select(sa.func.count()).where(requests.c.status == ChangeStatus.REQUESTED.value)
        return int((await self._connection.execute(statement)).scalar_one())


def request_rows(added: Sequence[MoneyChangingRequest]) -> str:
    """The value of the `requests` parameter of `REQUESTS_SQL`."""
    return as_rows([_request_columns(request) for request in added])


def _request_columns(request: MoneyChangingRequest) -> dict[str, Any]:
    return {
        "request_id": request.request_id,
        "change_type": request.change_type.value,
        "target_membership_id": request.target_membership_id,
        "counterpart_membership_id": request.counterpart_membership_id,
        "amount": request.amount,
        "status": request.status.value,
        "reason": request.reason,
        "created_at": request.created_at,
        "updated_at": request.updated_at,
        "answer_to": request.answer_to,
        "franchise_id": request.franchise_id,
    }
