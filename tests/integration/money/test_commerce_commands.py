"""Money's commerce ledger commands (issue 13): payments into franchises' payables, refunds out of them, and
settlements that move the fee to revenue and pay the rest out; each once, and each bank side a bank leg."""

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from pay.contracts.money import (
    CreditPayable,
    LedgerTransactionFailed,
    LedgerTransactionSucceeded,
    PayFromWallet,
    RefundFromPayable,
    RefundToWallet,
    SettlePayable,
)

from money_support import FakeBanking, Saga, bank_legs, transaction_id, wallet


def new_franchise() -> str:
    return f"franchise-{uuid.uuid4()}"


async def payable(client: httpx.AsyncClient, headers: dict[str, str], franchise_id: str) -> int:
    found = await client.get(f"/money/payables/{franchise_id}", headers=headers)
    assert found.status_code == 200, found.text
    return int(found.json()["balance"])


async def summary(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, int]:
    return dict((await client.get("/money/summary", headers=headers)).json())


async def test_a_wallet_payment_moves_the_price_to_the_franchise_s_payable_once(
    client: httpx.AsyncClient,
    saga: Saga,
    new_member: Callable[..., Any],
    banking: FakeBanking,
    admin_headers: dict[str, str],
) -> None:
    alice, franchise = await new_member(10_000, banking=banking), new_franchise()
    before = await summary(client, admin_headers)
    pay = PayFromWallet(
        ledger_transaction_id=transaction_id(), membership_id=alice.membership_id, franchise_id=franchise, amount=7_000
    )

    for _ in range(2):
        answer = await saga.send(pay.model_copy(update={"message_id": str(uuid.uuid4())}))
        assert isinstance(answer, LedgerTransactionSucceeded) and answer.kind == "PAYMENT"

    assert await wallet(client, alice) == (3_000, 0)
    assert await payable(client, admin_headers, franchise) == 7_000
    after = await summary(client, admin_headers)
    assert after["totalPayables"] - before["totalPayables"] == 7_000
    assert after["totalBalance"] - before["totalBalance"] == -7_000
    seen = (await client.get(f"/money/changing-requests/{pay.ledger_transaction_id}", headers=alice.headers)).json()
    assert (seen["changingType"], seen["franchiseId"], seen["amount"]) == ("PAYMENT", franchise, 7_000)

    short = await saga.send(
        pay.model_copy(update={"ledger_transaction_id": transaction_id(), "message_id": str(uuid.uuid4())})
    )
    assert isinstance(short, LedgerTransactionFailed) and short.reason == "insufficient-balance"
    assert await payable(client, admin_headers, franchise) == 7_000


async def test_refunds_give_the_money_back_and_may_leave_the_franchise_owing(
    client: httpx.AsyncClient,
    saga: Saga,
    new_member: Callable[..., Any],
    banking: FakeBanking,
    admin_headers: dict[str, str],
) -> None:
    alice, franchise = await new_member(10_000, banking=banking), new_franchise()
    await saga.send(
        PayFromWallet(
            ledger_transaction_id=transaction_id(),
            membership_id=alice.membership_id,
            franchise_id=franchise,
            amount=6_000,
        )
    )
    payout = f"payout-{uuid.uuid4()}"
    settled = await saga.send(
        SettlePayable(
            ledger_transaction_id=transaction_id(),
            franchise_id=franchise,
            fee=180,
            payout=5_820,
            bank_transfer_id=payout,
        )
    )
    assert isinstance(settled, LedgerTransactionSucceeded)

    refund = RefundToWallet(
        ledger_transaction_id=transaction_id(), franchise_id=franchise, membership_id=alice.membership_id, amount=2_500
    )
    assert isinstance(await saga.send(refund), LedgerTransactionSucceeded)

    assert await wallet(client, alice) == (6_500, 0)
    assert await payable(client, admin_headers, franchise) == -2_500
    seen = (await client.get(f"/money/changing-requests/{refund.ledger_transaction_id}", headers=alice.headers)).json()
    assert (seen["changingType"], seen["targetMembershipId"]) == ("REFUND", alice.membership_id)


async def test_the_bank_side_of_a_bank_payment_and_its_refund_are_bank_legs(
    client: httpx.AsyncClient, saga: Saga, admin_headers: dict[str, str]
) -> None:
    franchise = new_franchise()
    charge, refund = f"charge-{uuid.uuid4()}", f"refund-{uuid.uuid4()}"
    before = await summary(client, admin_headers)

    credited = CreditPayable(
        ledger_transaction_id=transaction_id(), franchise_id=franchise, amount=9_000, bank_transfer_id=charge
    )
    assert isinstance(await saga.send(credited), LedgerTransactionSucceeded)
    refunded = RefundFromPayable(
        ledger_transaction_id=transaction_id(), franchise_id=franchise, amount=4_000, bank_transfer_id=refund
    )
    assert isinstance(await saga.send(refunded), LedgerTransactionSucceeded)

    assert await payable(client, admin_headers, franchise) == 5_000
    legs = await bank_legs(client, admin_headers)
    assert legs[charge] == (credited.ledger_transaction_id, 9_000)
    assert legs[refund] == (refunded.ledger_transaction_id, -4_000)
    assert (await summary(client, admin_headers))["totalBalance"] == before["totalBalance"], "no wallet moved"
    again = refunded.model_copy(update={"ledger_transaction_id": transaction_id(), "message_id": str(uuid.uuid4())})
    reused = await saga.send(again)
    assert isinstance(reused, LedgerTransactionFailed) and reused.reason == "bank-transfer-reused"
    assert await payable(client, admin_headers, franchise) == 5_000


async def test_a_settlement_moves_the_fee_to_revenue_and_records_the_payout_the_bank_made(
    client: httpx.AsyncClient, saga: Saga, admin_headers: dict[str, str]
) -> None:
    franchise = new_franchise()
    await saga.send(
        CreditPayable(
            ledger_transaction_id=transaction_id(),
            franchise_id=franchise,
            amount=10_000,
            bank_transfer_id=f"charge-{uuid.uuid4()}",
        )
    )
    before = await summary(client, admin_headers)
    payout = f"payout-{uuid.uuid4()}"
    settle = SettlePayable(
        ledger_transaction_id=transaction_id(), franchise_id=franchise, fee=300, payout=9_700, bank_transfer_id=payout
    )
    answer = await saga.send(settle)

    assert isinstance(answer, LedgerTransactionSucceeded) and answer.kind == "SETTLEMENT"
    assert await payable(client, admin_headers, franchise) == 0
    after = await summary(client, admin_headers)
    assert after["revenue"] - before["revenue"] == 300
    assert after["totalPayables"] - before["totalPayables"] == -10_000
    assert (await bank_legs(client, admin_headers))[payout] == (settle.ledger_transaction_id, -9_700)
    fee_only = SettlePayable(ledger_transaction_id=transaction_id(), franchise_id=franchise, fee=1, payout=0)
    assert isinstance(await saga.send(fee_only), LedgerTransactionSucceeded), "a fee may leave the franchise owing"
    assert await payable(client, admin_headers, franchise) == -1
    # A refund that succeeded after the settlement's claim is not in its payout: the bank paid the payout all
    # the same, so the ledger records it, and the franchise owes the refund to its next settlement.
    beyond = f"payout-{uuid.uuid4()}"
    paid_anyway = SettlePayable(
        ledger_transaction_id=transaction_id(), franchise_id=franchise, fee=0, payout=500, bank_transfer_id=beyond
    )
    assert isinstance(await saga.send(paid_anyway), LedgerTransactionSucceeded)
    assert await payable(client, admin_headers, franchise) == -501
    assert (await bank_legs(client, admin_headers))[beyond] == (paid_anyway.ledger_transaction_id, -500)


async def test_payables_are_read_by_admins_and_services_only(
    client: httpx.AsyncClient, new_member: Callable[..., Any]
) -> None:
    alice = await new_member()

    assert (await client.get(f"/money/payables/{new_franchise()}", headers=alice.headers)).status_code == 403


async def test_a_malformed_ledger_command_is_set_aside_unanswered_and_the_next_is_applied(
    client: httpx.AsyncClient, saga: Saga, admin_headers: dict[str, str]
) -> None:
    franchise = new_franchise()
    # A buggy sender: the contract would refuse a settlement paying out without its bank transfer.
    broken = SettlePayable.model_construct(
        **SettlePayable(ledger_transaction_id=transaction_id(), franchise_id=franchise, fee=1, payout=0).model_dump()
        | {"payout": 500}
    )
    broken.correlation_id = str(uuid.uuid4())
    await saga.broker.publish_message(broken)
    # The next command on the same subject comes after it, and is applied.
    fee_only = SettlePayable(ledger_transaction_id=transaction_id(), franchise_id=franchise, fee=2, payout=0)

    assert isinstance(await saga.send(fee_only), LedgerTransactionSucceeded)
    assert broken.correlation_id not in saga.answers
    assert await payable(client, admin_headers, franchise) == -2
    missing = await client.get(f"/money/changing-requests/{broken.ledger_transaction_id}", headers=admin_headers)
    assert missing.status_code == 404
