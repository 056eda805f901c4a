"""Money's sagas as rows of the kernel's saga table."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from pay.money.application.ports import FailedRefundPage
from pay.money.domain.sagas import SAGA_TYPES, BankAccount, MoneySaga, SagaKind, Step
from pay.platform.paging import cut_page
from pay.platform.saga import SagaRecord, SagaRepository, sagas


class SqlSagaRepository(SagaRepository[MoneySaga]):
    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__(connection, record_of, saga_of)
        self._connection = connection

    async def failed_refunds(self, after: str | None, limit: int) -> FailedRefundPage:
        statement = (
            sagas.select()
            .where(
                sagas.c.kind == SagaKind.RECHARGE.value,
                sagas.c.step == Step.FAILED.value,
                sagas.c.data["refundRefused"].astext.is_not(None),
            )
            .order_by(sagas.c.saga_id)
            .limit(limit + 1)
        )
        if after is not None:
            statement = statement.where(sagas.c.saga_id > after)
        rows = await self._connection.execute(statement)
        found = [
            saga_of(SagaRecord(row.saga_id, row.kind, row.step, row.finished, row.data, row.wake_at)) for row in rows
        ]
        return FailedRefundPage(*cut_page(found, limit, lambda saga: saga.saga_id))


def _account(account: BankAccount | None) -> dict[str, str] | None:
    return None if account is None else {"bankName": account.bank_name, "accountNumber": account.account_number}


def _account_of(data: dict[str, str] | None) -> BankAccount | None:
    return None if data is None else BankAccount(data["bankName"], data["accountNumber"])


def record_of(saga: MoneySaga) -> SagaRecord:
    return SagaRecord(
        saga_id=saga.saga_id,
        kind=saga.kind.value,
        step=saga.step.value,
        finished=saga.is_finished,
        wake_at=saga.wake_at,
        data={
            "requestId": saga.request_id,
            "membershipId": saga.membership_id,
            "amount": saga.amount,
            "corporateAccount": _account(saga.corporate_account),
            "memberAccount": _account(saga.member_account),
            "startedAt": _time(saga.started_at),
            "attempts": saga.attempts,
            "failure": saga.failure,
            "refunds": saga.refunds,
            "refundingSince": _time(saga.refunding_since),
            "refundRefused": saga.refund_refused,
        },
    )


def saga_of(record: SagaRecord) -> MoneySaga:
    data = record.data
    corporate = _account_of(data["corporateAccount"])
    assert corporate is not None
    return SAGA_TYPES[SagaKind(record.kind)](
        saga_id=record.saga_id,
        request_id=data["requestId"],
        membership_id=data["membershipId"],
        amount=data["amount"],
        corporate_account=corporate,
        step=Step(record.step),
        started_at=datetime.fromisoformat(data["startedAt"]),
        wake_at=record.wake_at,
        attempts=data["attempts"],
        member_account=_account_of(data["memberAccount"]),
        failure=data["failure"],
        # Sagas stored before refunds were retried lack these: one refund, asked for since the start.
        refunds=data.get("refunds", 1),
        refunding_since=_time_of(data.get("refundingSince", data["startedAt"])),
        refund_refused=data.get("refundRefused"),
    )


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _time_of(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
