"""Money's processes as rows of the kernel's saga table."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from pay.money.domain.processes import BankAccount, MoneyProcess, ProcessKind, Step
from pay.platform.saga import SagaRecord, SagaStore


class SqlProcessRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._store = SagaStore(connection)

    async def add(self, process: MoneyProcess) -> None:
        await self._store.add(_record(process))

    async def lock(self, process_id: str, *, skip_locked: bool = False) -> MoneyProcess | None:
        record = await self._store.lock(process_id, skip_locked=skip_locked)
        return _process(record) if record is not None else None

    async def save(self, process: MoneyProcess) -> None:
        await self._store.save(_record(process))

    async def count_unfinished(self) -> int:
        return await self._store.count_unfinished()


def _account(account: BankAccount | None) -> dict[str, str] | None:
    return None if account is None else {"bankName": account.bank_name, "accountNumber": account.account_number}


def _account_of(data: dict[str, str] | None) -> BankAccount | None:
    return None if data is None else BankAccount(data["bankName"], data["accountNumber"])


def _record(process: MoneyProcess) -> SagaRecord:
    return SagaRecord(
        saga_id=process.process_id,
        kind=process.kind.value,
        step=process.step.value,
        finished=process.is_finished,
        wake_at=process.wake_at,
        data={
            "requestId": process.request_id,
            "membershipId": process.membership_id,
            "amount": process.amount,
            "corporateAccount": _account(process.corporate_account),
            "memberAccount": _account(process.member_account),
            "startedAt": process.started_at.isoformat(),
            "attempts": process.attempts,
            "failure": process.failure,
        },
    )


def _process(record: SagaRecord) -> MoneyProcess:
    data = record.data
    corporate = _account_of(data["corporateAccount"])
    assert corporate is not None
    return MoneyProcess(
        process_id=record.saga_id,
        kind=ProcessKind(record.kind),
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
