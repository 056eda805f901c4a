"""Fintech-use numbers: issued by the bank at link time, kept by banking, the name a linked account goes to the bank
under; a link made before them gets one at its first use; account numbers masked to members but the owner."""

import uuid
from datetime import UTC, datetime

import anyio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from integration.banking.harness import CORPORATE_ACCOUNT, Services, bearer
from pay.banking.domain.masking import mask_account_number
from pay.platform import auth
from pay.platform.infra import EmbeddedPostgres
from pay.platform.migrations import check, downgrade, upgrade

from support import token_for


async def one_value(services: Services, query: str, **parameters: str) -> str | None:
    engine = create_async_engine(services.banking_database_url)
    try:
        async with engine.connect() as connection:
            value = (await connection.execute(sa.text(query), parameters)).scalar_one()
    finally:
        await engine.dispose()
    return None if value is None else str(value)


async def fintech_use_of_link(services: Services, membership_id: str) -> str | None:
    query = "SELECT fintech_use_num FROM registered_bank_accounts WHERE membership_id = :membership_id"
    return await one_value(services, query, membership_id=membership_id)


async def sent_under(services: Services, request_id: str) -> str | None:
    query = "SELECT from_fintech_use_num FROM firmbanking_requests WHERE firmbanking_request_id = :request_id"
    return await one_value(services, query, request_id=request_id)


async def test_a_link_keeps_the_bank_s_number_and_transfers_from_the_account_go_by_it(services: Services) -> None:
    member, account = await services.member(), await services.account(10_000)
    assert (await services.link(member, account)).status_code == 201

    kept = await fintech_use_of_link(services, member.membership_id)
    issued = await services.bank.issue_fintech_use(account.bank_name, account.number)
    transfer = await services.firmbanking(account, CORPORATE_ACCOUNT, 3_000)

    assert kept == issued.fintech_use_num
    assert transfer.status_code == 200 and transfer.json()["status"] == "SUCCEEDED", transfer.text
    assert await sent_under(services, transfer.json()["firmbankingRequestId"]) == kept
    assert await services.balance(account) == 7_000


async def test_a_link_made_before_fintech_use_numbers_gets_one_at_its_first_transfer(services: Services) -> None:
    member, account = await services.member(), await services.account(10_000)
    engine = create_async_engine(services.banking_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "INSERT INTO registered_bank_accounts VALUES (:id, :member, :bank, :number, TRUE, now(), NULL)"
                ),
                {
                    "id": str(uuid.uuid4()),
                    "member": member.membership_id,
                    "bank": account.bank_name,
                    "number": account.number,
                },
            )
    finally:
        await engine.dispose()

    transfer = await services.firmbanking(account, CORPORATE_ACCOUNT, 2_500)

    kept = await fintech_use_of_link(services, member.membership_id)
    assert kept == (await services.bank.issue_fintech_use(account.bank_name, account.number)).fintech_use_num
    assert await sent_under(services, transfer.json()["firmbankingRequestId"]) == kept
    assert await services.balance(account) == 7_500


async def test_a_member_sees_the_other_side_of_its_transfers_masked_and_an_admin_sees_all(services: Services) -> None:
    member, account = await services.member(), await services.account(10_000)
    assert (await services.link(member, account)).status_code == 201
    transfer = (await services.firmbanking(account, CORPORATE_ACCOUNT, 1_000)).json()

    as_member = await services.banking.get(
        "/banking/firmbanking", params={"membershipId": member.membership_id}, headers=member.headers
    )
    one = await services.banking.get(f"/banking/firmbanking/{transfer['firmbankingRequestId']}", headers=member.headers)
    as_admin = await services.banking.get(
        f"/banking/firmbanking/{transfer['firmbankingRequestId']}", headers=services.admin
    )

    masked = mask_account_number(CORPORATE_ACCOUNT.number)
    for seen in (as_member.json()[0], one.json()):
        assert (seen["fromBankAccountNumber"], seen["toBankAccountNumber"]) == (account.number, masked)
    assert (as_admin.json()["fromBankAccountNumber"], as_admin.json()["toBankAccountNumber"]) == (
        account.number,
        CORPORATE_ACCOUNT.number,
    )
    service = bearer(token_for(services.data_dir, "money", auth.Role.SERVICE))
    listed = await services.banking.get(
        "/banking/firmbanking", params={"membershipId": member.membership_id}, headers=service
    )
    assert listed.json()[0]["toBankAccountNumber"] == CORPORATE_ACCOUNT.number


async def test_links_of_a_database_before_fintech_use_numbers_keep_theirs_empty_and_the_schema_is_as_declared(
    pg: EmbeddedPostgres,
) -> None:
    database = f"banking_fintech_migration_{uuid.uuid4().hex[:8]}"
    await anyio.to_thread.run_sync(pg.ensure_database, database)
    url = pg.url(database)
    await anyio.to_thread.run_sync(upgrade, "pay.banking", url, "0002")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.text("INSERT INTO registered_bank_accounts VALUES ('ra-old', 'm-old', 'KB', '110-1', TRUE, :at)"),
                {"at": datetime(2026, 11, 30, tzinfo=UTC)},
            )

        await anyio.to_thread.run_sync(upgrade, "pay.banking", url, "head")

        await anyio.to_thread.run_sync(check, "pay.banking", url)
        async with engine.connect() as connection:
            row = (await connection.execute(sa.text("SELECT * FROM registered_bank_accounts"))).one()
        assert (row.registered_bank_account_id, row.fintech_use_num) == ("ra-old", None)

        await anyio.to_thread.run_sync(downgrade, "pay.banking", url, "0002")
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda sync: {c["name"] for c in sa.inspect(sync).get_columns("registered_bank_accounts")}
            )
        assert "fintech_use_num" not in columns
    finally:
        await engine.dispose()
