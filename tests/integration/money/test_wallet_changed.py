"""Every wallet change is told as a `WalletChanged` in the transaction that made it, for the read models."""

from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa

from pay.contracts.money import WalletChanged
from pay.platform.db import create_engine, outbox

from money_support import FakeBanking, Member


async def send(client: httpx.AsyncClient, source: Member, target: Member, amount: int) -> httpx.Response:
    body = {"fromMembershipId": source.membership_id, "toMembershipId": target.membership_id, "amount": amount}
    return await client.post("/money/transfer", json=body, headers=source.headers)


async def told(database_url: str, member: Member) -> list[tuple[int, int]]:
    """(version, balance) of each WalletChanged money recorded for the member, in the order recorded."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.select(outbox.c.payload)
                .where(
                    outbox.c.subject == WalletChanged.subject,
                    outbox.c.payload["membershipId"].astext == member.membership_id,
                )
                .order_by(outbox.c.position)
            )
            return [(payload["version"], payload["balance"]) for (payload,) in rows]
    finally:
        await engine.dispose()


async def test_each_change_tells_the_wallet_s_version_and_spendable_balance_and_a_refusal_tells_nothing(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking, database_url: str
) -> None:
    alice, bob = await new_member(50_000, banking=banking), await new_member()
    assert (await send(client, alice, bob, 20_000)).status_code == 200
    refused = await send(client, alice, bob, 30_001)

    alice_told, bob_told = await told(database_url, alice), await told(database_url, bob)

    assert refused.status_code == 409
    assert alice_told[0] == (1, 0) and bob_told == [(1, 0), (2, 20_000)]
    assert [version for version, _ in alice_told] == sorted({version for version, _ in alice_told})
    now = await client.get(f"/money/{alice.membership_id}", headers=alice.headers)
    assert alice_told[-1][1] == now.json()["balance"] == 30_000
