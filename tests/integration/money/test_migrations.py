"""Money's schema: a database made before bank legs gets the legs of what its sagas and captures moved at
the bank, ends up as money's tables declare it, and goes back again."""

import uuid
from datetime import UTC, datetime

import anyio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from pay.money.adapters.saga_repository import record_of
from pay.money.domain.sagas import BankAccount, MoneySaga, RechargeSaga, Step, WithdrawalSaga
from pay.platform.infra import EmbeddedPostgres
from pay.platform.migrations import check, downgrade, upgrade
from pay.platform.saga import sagas

STARTED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CORPORATE = BankAccount("PAYBANK", "100-0000-0001")
MEMBER = BankAccount("KB", "110-1")


async def migrate(url: str, revision: str, *, down: bool = False) -> None:
    await anyio.to_thread.run_sync(downgrade if down else upgrade, "pay.money", url, revision)


def recharge(request_id: str, step: Step, *, refunds: int = 0, refund_refused: str | None = None) -> MoneySaga:
    return RechargeSaga(
        request_id, request_id, "m-1", 5_000, CORPORATE, step, STARTED, None,
        member_account=MEMBER, refunds=refunds, refund_refused=refund_refused,
    )  # fmt: skip


def withdrawal(request_id: str, step: Step) -> MoneySaga:
    return WithdrawalSaga(request_id, request_id, "m-1", 2_000, CORPORATE, step, STARTED, None, member_account=MEMBER)


CAPTURE = sa.text(
    "INSERT INTO money_changing_requests (request_id, change_type, target_membership_id, amount, status, created_at,"
    " updated_at) VALUES ('rem-1-capture', 'CAPTURE', 'm-1', 3000, :status, :at, :at)"
)


async def test_what_moved_at_the_bank_before_bank_legs_gets_its_legs(pg: EmbeddedPostgres) -> None:
    database = f"money_migrations_{uuid.uuid4().hex[:8]}"
    await anyio.to_thread.run_sync(pg.ensure_database, database)
    url = pg.url(database)
    await migrate(url, "0003")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for saga in (
                recharge("charged", Step.SUCCEEDED),
                recharge("crediting", Step.CREDITING),
                recharge("refused", Step.FAILED),
                recharge("refunded", Step.FAILED, refunds=2),
                recharge("refunding", Step.REFUNDING, refunds=1, refund_refused="account-closed"),
                recharge("refund-refused", Step.FAILED, refunds=3, refund_refused="account-closed"),
                withdrawal("paid", Step.SUCCEEDED),
                withdrawal("not-paid", Step.FAILED),
                withdrawal("paying", Step.PAYING_OUT),
            ):
                # As the sagas table stood then: without the trace a saga started in (a later revision).
                await connection.execute(
                    sagas.insert().values(**vars(record_of(saga)), created_at=STARTED, updated_at=STARTED)
                )
            await connection.execute(CAPTURE, {"status": "SUCCEEDED", "at": STARTED})

        await migrate(url, "head")

        await anyio.to_thread.run_sync(check, "pay.money", url)
        async with engine.connect() as connection:
            legs = (await connection.execute(sa.text("SELECT transfer_id, request_id, amount FROM bank_legs"))).all()
        assert sorted(legs) == [
            ("charged-charge", "charged", 5_000),
            ("crediting-charge", "crediting", 5_000),
            ("paid-payout", "paid", -2_000),
            ("refund-refused-charge", "refund-refused", 5_000),
            ("refunded-charge", "refunded", 5_000),
            ("refunded-refund-2", "refunded", -5_000),
            ("refunding-charge", "refunding", 5_000),
            ("rem-1-payout", "rem-1-capture", -3_000),
        ]

        await migrate(url, "0003", down=True)

        async with engine.connect() as connection:
            assert not await connection.run_sync(lambda sync: sa.inspect(sync).has_table("bank_legs"))
    finally:
        await engine.dispose()
