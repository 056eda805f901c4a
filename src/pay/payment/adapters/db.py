"""Payment's repositories and unit of work (SQLAlchemy Core on asyncpg)."""

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pay.contracts.messages import Message
from pay.payment.adapters.messaging import outcome_message, to_message
from pay.payment.adapters.tables import payments, refunds, settlement_claims
from pay.payment.application.ports import ClaimContended, Page, RefundPage
from pay.payment.domain.model import (
    BankAccount,
    ClaimStatus,
    FranchiseClaim,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from pay.payment.domain.saga import PaymentSaga, RefundSaga, Saga, Step
from pay.platform.db import SqlUnitOfWork, drain_events
from pay.platform.idempotency.kept import KeptAnswers
from pay.platform.paging import cut_page
from pay.platform.saga import SagaRecord, SagaRepository

# The kinds of payment's rows in the kernel's saga table: one per payment and one per refund, under its id.
PAYMENT_SAGA = "payment"
REFUND_SAGA = "payment-refund"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class SqlPaymentRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        # Every payment saved, for the unit of work to send the events it recorded when it commits.
        self.seen: list[Payment] = []

    async def add(self, payment: Payment) -> None:
        await self._connection.execute(payments.insert().values(**_payment_columns(payment)))

    async def get(self, payment_id: str, *, for_update: bool = False) -> Payment | None:
        statement = payments.select().where(payments.c.payment_id == payment_id)
        row = (await self._connection.execute(statement.with_for_update() if for_update else statement)).first()
        return None if row is None else _payment(row)

    async def save(self, payment: Payment) -> None:
        statement = payments.update().where(payments.c.payment_id == payment.payment_id)
        await self._connection.execute(statement.values(**_payment_columns(payment)))
        self.seen.append(payment)

    async def approved_between(
        self, start: datetime, end: datetime, franchise_id: str | None, after: str | None, limit: int
    ) -> Page:
        statement = (
            payments.select()
            .where(payments.c.approved_at >= start, payments.c.approved_at < end)
            .order_by(payments.c.approved_at, payments.c.seq)
            .limit(limit + 1)
        )
        if franchise_id is not None:
            statement = statement.where(payments.c.franchise_id == franchise_id)
        if after is not None:
            micros, seq = (int(part) for part in after.split("-"))
            statement = statement.where(
                sa.tuple_(payments.c.approved_at, payments.c.seq) > (_EPOCH + micros * _MICROSECOND, seq)
            )
        page, cursor = cut_page(list(await self._connection.execute(statement)), limit, _approval_cursor)
        return Page([_payment(row) for row in page], cursor)

    async def unsettled(
        self, franchise_id: str | None, start: datetime | None, end: datetime | None, after: str | None, limit: int
    ) -> Page:
        statement = (
            payments.select()
            .where(payments.c.status == PaymentStatus.APPROVED.value)
            .order_by(payments.c.seq)
            .limit(limit + 1)
        )
        if franchise_id is not None:
            statement = statement.where(payments.c.franchise_id == franchise_id)
        if start is not None:
            statement = statement.where(payments.c.approved_at >= start)
        if end is not None:
            statement = statement.where(payments.c.approved_at < end)
        if after is not None:
            statement = statement.where(payments.c.seq > int(after))
        page, cursor = cut_page(list(await self._connection.execute(statement)), limit, lambda row: str(row.seq))
        return Page([_payment(row) for row in page], cursor)


def _approval_cursor(row: Any) -> str:
    return f"{(row.approved_at - _EPOCH) // _MICROSECOND}-{row.seq}"


def _payment_columns(payment: Payment) -> dict[str, Any]:
    account = payment.payer_account
    return {
        "payment_id": payment.payment_id,
        "request_membership_id": payment.payer,
        "franchise_id": payment.franchise_id,
        "request_price": payment.price,
        "method": payment.method.value,
        "fee_rate": payment.fee_rate,
        "fee": payment.fee,
        "refunded_amount": payment.refunded_amount,
        "reserved_amount": payment.reserved_amount,
        "status": payment.status.value,
        "reason": payment.reason,
        "order_id": payment.order_id,
        "payer_bank_name": account.bank_name if account else None,
        "payer_bank_account_number": account.account_number if account else None,
        "approved_at": payment.approved_at,
        "settled_at": payment.settled_at,
        "settlement_id": payment.settlement_id,
        "created_at": payment.created_at,
        "updated_at": payment.updated_at,
    }


def _payment(row: Any) -> Payment:
    return Payment(
        payment_id=row.payment_id,
        payer=row.request_membership_id,
        franchise_id=row.franchise_id,
        price=row.request_price,
        method=PaymentMethod(row.method),
        fee_rate=row.fee_rate,
        status=PaymentStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        order_id=row.order_id,
        payer_account=BankAccount(row.payer_bank_name, row.payer_bank_account_number) if row.payer_bank_name else None,
        refunded_amount=row.refunded_amount,
        reserved_amount=row.reserved_amount,
        reason=row.reason,
        approved_at=row.approved_at,
        settled_at=row.settled_at,
        settlement_id=row.settlement_id,
    )


class SqlRefundRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, refund: Refund) -> None:
        await self._connection.execute(refunds.insert().values(**_refund_columns(refund)))

    async def get(self, refund_id: str, *, for_update: bool = False) -> Refund | None:
        statement = refunds.select().where(refunds.c.refund_id == refund_id)
        row = (await self._connection.execute(statement.with_for_update() if for_update else statement)).first()
        return None if row is None else _refund(row)

    async def save(self, refund: Refund) -> None:
        statement = refunds.update().where(refunds.c.refund_id == refund.refund_id)
        await self._connection.execute(statement.values(**_refund_columns(refund)))

    async def of_payment(self, payment_id: str, after: str | None, limit: int) -> RefundPage:
        return await self._page(refunds.c.payment_id == payment_id, after, limit)

    async def owed(self, franchise_id: str | None, after: str | None, limit: int) -> RefundPage:
        condition = sa.and_(
            refunds.c.status == RefundStatus.SUCCEEDED.value,
            refunds.c.after_settlement,
            refunds.c.deducted_by.is_(None),
            refunds.c.claimed_by.is_(None),
        )
        if franchise_id is not None:
            condition = sa.and_(condition, refunds.c.franchise_id == franchise_id)
        return await self._page(condition, after, limit)

    async def _page(self, condition: sa.ColumnElement[bool], after: str | None, limit: int) -> RefundPage:
        statement = refunds.select().where(condition).order_by(refunds.c.seq).limit(limit + 1)
        if after is not None:
            statement = statement.where(refunds.c.seq > int(after))
        page, cursor = cut_page(list(await self._connection.execute(statement)), limit, lambda row: str(row.seq))
        return RefundPage([_refund(row) for row in page], cursor)


def _refund_columns(refund: Refund) -> dict[str, Any]:
    return {
        "refund_id": refund.refund_id,
        "payment_id": refund.payment_id,
        "franchise_id": refund.franchise_id,
        "amount": refund.amount,
        "status": refund.status.value,
        "reason": refund.reason,
        "after_settlement": refund.after_settlement,
        "deducted_by": refund.deducted_by,
        "created_at": refund.created_at,
        "updated_at": refund.updated_at,
    }


def _refund(row: Any) -> Refund:
    return Refund(
        refund_id=row.refund_id,
        payment_id=row.payment_id,
        franchise_id=row.franchise_id,
        amount=row.amount,
        status=RefundStatus(row.status),
        after_settlement=row.after_settlement,
        created_at=row.created_at,
        updated_at=row.updated_at,
        reason=row.reason,
        deducted_by=row.deducted_by,
    )


def _account(account: BankAccount | None) -> dict[str, str] | None:
    return None if account is None else {"bankName": account.bank_name, "accountNumber": account.account_number}


def _account_of(data: dict[str, str] | None) -> BankAccount | None:
    return None if data is None else BankAccount(data["bankName"], data["accountNumber"])


def _record(saga: Saga) -> SagaRecord:
    data: dict[str, Any] = {
        "method": saga.method.value,
        "payer": saga.payer,
        "franchiseId": saga.franchise_id,
        "amount": saga.amount,
        "corporateAccount": _account(saga.corporate_account),
        "payerAccount": _account(saga.payer_account),
        "attempts": saga.attempts,
        "failure": saga.failure,
        "firmbankingRequestId": saga.firmbanking_request_id,
    }
    if isinstance(saga, PaymentSaga):
        kind = PAYMENT_SAGA
        data |= {"recharge": saga.recharge, "rechargeDone": saga.recharge_done}
    else:
        kind = REFUND_SAGA
        data |= {"paymentId": saga.payment_id}
    return SagaRecord(
        saga_id=saga.saga_id,
        kind=kind,
        step=saga.step.value,
        finished=saga.is_finished,
        wake_at=saga.wake_at,
        data=data,
    )


def _saga(record: SagaRecord) -> Saga | None:
    data = record.data
    corporate = _account_of(data["corporateAccount"])
    assert corporate is not None
    common: dict[str, Any] = {
        "saga_id": record.saga_id,
        "method": PaymentMethod(data["method"]),
        "payer": data["payer"],
        "franchise_id": data["franchiseId"],
        "amount": data["amount"],
        "corporate_account": corporate,
        "step": Step(record.step),
        "wake_at": record.wake_at,
        "payer_account": _account_of(data["payerAccount"]),
        "attempts": data["attempts"],
        "failure": data["failure"],
        "firmbanking_request_id": data["firmbankingRequestId"],
    }
    if record.kind == PAYMENT_SAGA:
        return PaymentSaga(**common, recharge=data["recharge"], recharge_done=data["rechargeDone"])
    if record.kind == REFUND_SAGA:
        return RefundSaga(**common, payment_id=data["paymentId"])
    return None


# One settlement's claim, in one transaction: the franchises' settleable payments of the period become SETTLING
# under the settlement's id, summed per franchise as they are updated, then the refunds those franchises owe are
# claimed and summed. A payment another claim holds (or one a cancel holds, with its refund under way) is waited
# for; READ COMMITTED then re-checks the WHERE on the row as that transaction left it, so two claims never take
# the same payment.
_CLAIM_PAYMENTS = sa.text("""
WITH claimed AS (
    UPDATE payments
       SET status = 'SETTLING', settlement_id = :settlement_id, updated_at = :now
     WHERE status = 'APPROVED' AND settlement_id IS NULL AND reserved_amount = 0
       AND approved_at >= :since AND approved_at < :until
 RETURNING franchise_id, request_price - refunded_amount AS net, fee
)
INSERT INTO settlement_claims
       (settlement_id, franchise_id, gross, fee, payment_count, owed, status, created_at, updated_at)
SELECT :settlement_id, franchise_id, sum(net), sum(fee), count(*), 0, 'CLAIMED', :now, :now
  FROM claimed
 GROUP BY franchise_id
""")

_CLAIM_OWED_REFUNDS = sa.text("""
WITH owed AS (
    UPDATE refunds
       SET claimed_by = :settlement_id, updated_at = :now
     WHERE status = 'SUCCEEDED' AND after_settlement AND deducted_by IS NULL AND claimed_by IS NULL
       AND franchise_id IN (SELECT franchise_id FROM settlement_claims WHERE settlement_id = :settlement_id)
 RETURNING franchise_id, amount
), sums AS (
    SELECT franchise_id, sum(amount) AS owed FROM owed GROUP BY franchise_id
)
UPDATE settlement_claims AS claim
   SET owed = sums.owed
  FROM sums
 WHERE claim.settlement_id = :settlement_id AND claim.franchise_id = sums.franchise_id
""")

# SQLSTATEs of a transaction PostgreSQL gave up on and that may simply be tried again.
_CONTENDED = {"40001", "40P01"}


def _claimed_payments(claim: FranchiseClaim) -> sa.ColumnElement[bool]:
    """The payments of the claim's franchise that its settlement holds, SETTLING until its line ends."""
    return sa.and_(
        payments.c.settlement_id == claim.settlement_id,
        payments.c.franchise_id == claim.franchise_id,
        payments.c.status == PaymentStatus.SETTLING.value,
    )


class SqlSettlementClaims:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def claim(self, settlement_id: str, since: datetime, until: datetime, now: datetime) -> list[FranchiseClaim]:
        # Two requests of the same settlement take turns: the second finds the first one's claim and claims nothing.
        await self._connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended('settlement-claim:' || :id, 0))"),
            {"id": settlement_id},
        )
        claimed = await self.of_settlement(settlement_id)
        if claimed:
            return claimed
        values = {"settlement_id": settlement_id, "since": since, "until": until, "now": now}
        try:
            await self._connection.execute(_CLAIM_PAYMENTS, values)
            await self._connection.execute(_CLAIM_OWED_REFUNDS, {"settlement_id": settlement_id, "now": now})
        except sa.exc.DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) in _CONTENDED:
                raise ClaimContended(settlement_id) from error
            raise
        return await self.of_settlement(settlement_id)

    async def of_settlement(self, settlement_id: str) -> list[FranchiseClaim]:
        statement = (
            settlement_claims.select()
            .where(settlement_claims.c.settlement_id == settlement_id)
            .order_by(settlement_claims.c.franchise_id)
        )
        return [_claim(row) for row in await self._connection.execute(statement)]

    async def get(self, settlement_id: str, franchise_id: str, *, for_update: bool = False) -> FranchiseClaim | None:
        statement = settlement_claims.select().where(
            settlement_claims.c.settlement_id == settlement_id, settlement_claims.c.franchise_id == franchise_id
        )
        row = (await self._connection.execute(statement.with_for_update() if for_update else statement)).first()
        return None if row is None else _claim(row)

    async def settled(self, claim: FranchiseClaim, now: datetime) -> None:
        await self._connection.execute(
            payments.update()
            .where(_claimed_payments(claim))
            .values(status=PaymentStatus.SETTLED.value, settled_at=now, updated_at=now)
        )
        await self._connection.execute(
            refunds.update()
            .where(refunds.c.claimed_by == claim.settlement_id, refunds.c.franchise_id == claim.franchise_id)
            .values(deducted_by=claim.settlement_id, updated_at=now)
        )
        await self._save(claim, now)

    async def released(self, claim: FranchiseClaim, now: datetime) -> None:
        await self._connection.execute(
            payments.update()
            .where(_claimed_payments(claim))
            .values(status=PaymentStatus.APPROVED.value, settlement_id=None, updated_at=now)
        )
        await self._connection.execute(
            refunds.update()
            .where(
                refunds.c.claimed_by == claim.settlement_id,
                refunds.c.franchise_id == claim.franchise_id,
                refunds.c.deducted_by.is_(None),
            )
            .values(claimed_by=None, updated_at=now)
        )
        await self._save(claim, now)

    async def _save(self, claim: FranchiseClaim, now: datetime) -> None:
        await self._connection.execute(
            settlement_claims.update()
            .where(
                settlement_claims.c.settlement_id == claim.settlement_id,
                settlement_claims.c.franchise_id == claim.franchise_id,
            )
            .values(status=claim.status.value, updated_at=now)
        )

    async def payments_of(self, settlement_id: str, after: str | None, limit: int) -> Page:
        statement = (
            payments.select()
            .where(payments.c.settlement_id == settlement_id)
            .order_by(payments.c.franchise_id, payments.c.seq)
            .limit(limit + 1)
        )
        if after is not None:
            franchise_id, _, seq = after.rpartition(".")
            statement = statement.where(sa.tuple_(payments.c.franchise_id, payments.c.seq) > (franchise_id, int(seq)))
        page, cursor = cut_page(
            list(await self._connection.execute(statement)), limit, lambda row: f"{row.franchise_id}.{row.seq}"
        )
        return Page([_payment(row) for row in page], cursor)


def _claim(row: Any) -> FranchiseClaim:
    return FranchiseClaim(
        settlement_id=row.settlement_id,
        franchise_id=row.franchise_id,
        gross=row.gross,
        fee=row.fee,
        payment_count=row.payment_count,
        owed=row.owed,
        status=ClaimStatus(row.status),
    )


class PaymentUnitOfWork(SqlUnitOfWork):
    payments: SqlPaymentRepository
    refunds: SqlRefundRepository
    settlement_claims: SqlSettlementClaims
    sagas: SagaRepository[Saga]

    def _open(self) -> None:
        self.payments = SqlPaymentRepository(self.connection)
        self.refunds = SqlRefundRepository(self.connection)
        self.settlement_claims = SqlSettlementClaims(self.connection)
        self.sagas = SagaRepository(self.connection, _record, _saga)
        self._answers = KeptAnswers(self.connection)

    def _new_messages(self) -> Iterator[Message]:
        return itertools.chain(
            drain_events(self.sagas.seen, to_message), drain_events(self.payments.seen, outcome_message)
        )

    async def earlier_answer(self, key: object) -> object | None:
        return await self._answers.earlier_one(key)

    async def keep_answer(self, key: object, outcome: object) -> None:
        await self._answers.keep([(key, outcome)])
