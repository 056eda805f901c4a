"""Money's sagas as rows of the kernel's saga table."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from pay.money.domain.sagas import SAGA_TYPES, BankAccount, MoneySaga, SagaKind, Step
from pay.platform.saga import SagaRecord, SagaStore


class SqlSagaRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._store = SagaStore(connection)
        # Every saga this unit of work handled, for the firm banking they asked for to be sent on commit.
        self.seen: list[MoneySaga] = []

    async def add(self, saga: MoneySaga) -> None:
        await self._store.add(_record(saga))
        self.seen.append(saga)

    async def lock(self, saga_id: str, *, skip_locked: bool = False) -> MoneySaga | None:
        record = await self._store.lock(saga_id, skip_locked=skip_locked)
        return _saga(record) if record is not None else None

    async def save(self, saga: MoneySaga) -> None:
        await self._store.save(_record(saga))
        self.seen.append(saga)

    async def count_unfinished(self) -> int:
        return await self._store.count_unfinished()


def _account(account: BankAccount | None) -> dict[str, str] | None:
    return None if account is None else {"bankName": account.bank_name, "accountNumber": account.account_number}


def _account_of(data: dict[str, str] | None) -> BankAccount | None:
    return None if data is None else BankAccount(data["bankName"], data["accountNumber"])


def _record(saga: MoneySaga) -> SagaRecord:
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
            "startedAt": saga.started_at.isoformat(),
            "attempts": saga.attempts,
            "failure": saga.failure,
        },
    )


def _saga(record: SagaRecord) -> MoneySaga:
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
    )
