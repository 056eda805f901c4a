"""Money's ledger commands (issue 12): other services' sagas move money over the broker, each command naming
its ledger transaction, applied once however often it is delivered or re-sent, and answered every time."""

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pay.contracts.money import (
    CaptureHold,
    HoldMoney,
    LedgerTransactionFailed,
    LedgerTransactionSucceeded,
    RechargeWallet,
    ReleaseHold,
    TransferBetweenWallets,
)

from money_support import FakeBanking, Saga, bank_legs, transaction_id, wallet


async def test_a_transfer_is_applied_once_however_often_it_is_sent(
    client: httpx.AsyncClient, saga: Saga, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    alice, bob = await new_member(10_000, banking=banking), await new_member()
    command = TransferBetweenWallets(
        ledger_transaction_id=transaction_id(),
        from_membership_id=alice.membership_id,
        to_membership_id=bob.membership_id,
        amount=3_000,
    )
    answers = [await saga.send(command.model_copy(update={"message_id": str(uuid.uuid4())})) for _ in range(3)]

    assert all(isinstance(answer, LedgerTransactionSucceeded) for answer in answers)
    assert {answer.ledger_transaction_id for answer in answers} == {command.ledger_transaction_id}
    assert (await wallet(client, alice), await wallet(client, bob)) == ((7_000, 0), (3_000, 0))


async def test_a_transaction_id_naming_another_movement_is_refused_and_moves_nothing(
    client: httpx.AsyncClient, saga: Saga, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    alice, bob = await new_member(10_000, banking=banking), await new_member()
    command = TransferBetweenWallets(
        ledger_transaction_id=transaction_id(),
        from_membership_id=alice.membership_id,
        to_membership_id=bob.membership_id,
        amount=1_000,
    )
    await saga.send(command)
    other = await saga.send(command.model_copy(update={"message_id": str(uuid.uuid4()), "amount": 5_000}))
    assert isinstance(other, LedgerTransactionFailed) and other.reason == "ledger-transaction-id-reused"
    assert (await wallet(client, alice), await wallet(client, bob)) == ((9_000, 0), (1_000, 0))


async def test_a_message_delivered_twice_is_applied_and_answered_once(
    client: httpx.AsyncClient, saga: Saga, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    alice, bob = await new_member(10_000, banking=banking), await new_member()
    command = TransferBetweenWallets(
        correlation_id=str(uuid.uuid4()),
        ledger_transaction_id=transaction_id(),
        from_membership_id=alice.membership_id,
        to_membership_id=bob.membership_id,
        amount=1_000,
    )
    await saga.broker.publish_message(command)
    await saga.broker.publish_message(command)
    await saga.answer_to(str(command.correlation_id))
    # A re-sent command is answered after the duplicate delivery, which was therefore already skipped.
    await saga.send(command.model_copy(update={"message_id": str(uuid.uuid4())}))

    assert len(saga.answers[str(command.correlation_id)]) == 1
    assert (await wallet(client, alice), await wallet(client, bob)) == ((9_000, 0), (1_000, 0))


async def test_concurrent_copies_of_a_transfer_move_the_money_once(
    client: httpx.AsyncClient, saga: Saga, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    alice, bob = await new_member(10_000, banking=banking), await new_member()
    command = TransferBetweenWallets(
        ledger_transaction_id=transaction_id(),
        from_membership_id=alice.membership_id,
        to_membership_id=bob.membership_id,
        amount=2_500,
    )
    copies = [command.model_copy(update={"message_id": str(uuid.uuid4())}) for _ in range(8)]
    answers = await asyncio.gather(*(saga.send(copy) for copy in copies))

    assert all(isinstance(answer, LedgerTransactionSucceeded) for answer in answers)
    assert (await wallet(client, alice), await wallet(client, bob)) == ((7_500, 0), (2_500, 0))


@pytest.mark.parametrize(
    ("amount", "to_itself", "reason"),
    [(20_000, False, "insufficient-balance"), (1_000, True, "same-wallet")],
)
async def test_a_refused_transfer_fails_with_its_reason_every_time_and_moves_nothing(
    client: httpx.AsyncClient,
    saga: Saga,
    new_member: Callable[..., Any],
    banking: FakeBanking,
    amount: int,
    to_itself: bool,
    reason: str,
) -> None:
    alice, bob = await new_member(10_000, banking=banking), await new_member()
    command = TransferBetweenWallets(
        ledger_transaction_id=transaction_id(),
        from_membership_id=alice.membership_id,
        to_membership_id=alice.membership_id if to_itself else bob.membership_id,
        amount=amount,
    )
    for _ in range(2):
        answer = await saga.send(command.model_copy(update={"message_id": str(uuid.uuid4())}))
        assert isinstance(answer, LedgerTransactionFailed) and answer.reason == reason
    assert (await wallet(client, alice), await wallet(client, bob)) == ((10_000, 0), (0, 0))


async def test_a_transfer_to_a_member_without_a_wallet_fails(saga: Saga, new_member: Callable[..., Any]) -> None:
    alice = await new_member()
    answer = await saga.send(
        TransferBetweenWallets(
            ledger_transaction_id=transaction_id(),
            from_membership_id=alice.membership_id,
            to_membership_id=str(uuid.uuid4()),
            amount=1,
        )
    )
    assert isinstance(answer, LedgerTransactionFailed) and answer.reason == "wallet-not-found"


async def test_a_hold_sets_money_aside_until_it_is_captured(
    client: httpx.AsyncClient,
    saga: Saga,
    new_member: Callable[..., Any],
    banking: FakeBanking,
    admin_headers: dict[str, str],
) -> None:
    alice = await new_member(10_000, banking=banking)
    hold = HoldMoney(ledger_transaction_id=transaction_id(), membership_id=alice.membership_id, amount=4_000)
    assert isinstance(await saga.send(hold), LedgerTransactionSucceeded)
    assert await wallet(client, alice) == (6_000, 4_000)
    overdraw = HoldMoney(ledger_transaction_id=transaction_id(), membership_id=alice.membership_id, amount=6_001)
    refused = await saga.send(overdraw)
    assert isinstance(refused, LedgerTransactionFailed) and refused.reason == "insufficient-balance"

    capture = CaptureHold(
        ledger_transaction_id=transaction_id(),
        membership_id=alice.membership_id,
        hold_transaction_id=hold.ledger_transaction_id,
        bank_transfer_id=f"payout-{uuid.uuid4()}",
    )
    for _ in range(2):
        answer = await saga.send(capture.model_copy(update={"message_id": str(uuid.uuid4())}))
        assert isinstance(answer, LedgerTransactionSucceeded)
    assert await wallet(client, alice) == (6_000, 0)
    changes = await client.get(f"/money/changing-requests/{capture.ledger_transaction_id}", headers=alice.headers)
    assert changes.json()["changingType"] == "CAPTURE" and changes.json()["amount"] == 4_000
    legs = await bank_legs(client, admin_headers)
    assert legs[capture.bank_transfer_id] == (capture.ledger_transaction_id, -4_000)


async def test_a_capture_naming_a_payout_another_capture_accounts_for_is_refused_and_keeps_the_hold(
    client: httpx.AsyncClient,
    saga: Saga,
    new_member: Callable[..., Any],
    banking: FakeBanking,
    admin_headers: dict[str, str],
) -> None:
    alice = await new_member(10_000, banking=banking)
    holds = [
        HoldMoney(ledger_transaction_id=transaction_id(), membership_id=alice.membership_id, amount=amount)
        for amount in (1_000, 2_000)
    ]
    for hold in holds:
        await saga.send(hold)
    payout = f"payout-{uuid.uuid4()}"
    first, second = (
        CaptureHold(
            ledger_transaction_id=transaction_id(),
            membership_id=alice.membership_id,
            hold_transaction_id=hold.ledger_transaction_id,
            bank_transfer_id=payout,
        )
        for hold in holds
    )
    assert isinstance(await saga.send(first), LedgerTransactionSucceeded)

    refused = await saga.send(second)

    assert isinstance(refused, LedgerTransactionFailed) and refused.reason == "bank-transfer-reused"
    assert await wallet(client, alice) == (7_000, 2_000)
    assert (await bank_legs(client, admin_headers))[payout] == (first.ledger_transaction_id, -1_000)
    assert (await client.get("/money/bank-legs", headers=alice.headers)).status_code == 403


async def test_a_released_hold_gives_the_money_back_and_cannot_be_captured_after(
    client: httpx.AsyncClient, saga: Saga, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    alice = await new_member(10_000, banking=banking)
    hold = HoldMoney(ledger_transaction_id=transaction_id(), membership_id=alice.membership_id, amount=4_000)
    await saga.send(hold)
    released = await saga.send(
        ReleaseHold(
            ledger_transaction_id=transaction_id(),
            membership_id=alice.membership_id,
            hold_transaction_id=hold.ledger_transaction_id,
        )
    )
    assert isinstance(released, LedgerTransactionSucceeded)
    assert await wallet(client, alice) == (10_000, 0)

    late = await saga.send(
        CaptureHold(
            ledger_transaction_id=transaction_id(),
            membership_id=alice.membership_id,
            hold_transaction_id=hold.ledger_transaction_id,
            bank_transfer_id=f"payout-{uuid.uuid4()}",
        )
    )
    assert isinstance(late, LedgerTransactionFailed) and late.reason == "hold-not-found"
    assert await wallet(client, alice) == (10_000, 0)


async def test_a_recharge_is_answered_once_its_saga_has_charged_the_bank(
    client: httpx.AsyncClient,
    saga: Saga,
    new_member: Callable[..., Any],
    banking: FakeBanking,
    admin_headers: dict[str, str],
) -> None:
    alice = await new_member(banking=banking)
    recharge = RechargeWallet(ledger_transaction_id=transaction_id(), membership_id=alice.membership_id, amount=30_000)
    for _ in range(2):
        answer = await saga.send(recharge.model_copy(update={"message_id": str(uuid.uuid4())}))
        assert isinstance(answer, LedgerTransactionSucceeded) and answer.kind == "INCREASE"

    assert await wallet(client, alice) == (30_000, 0)
    assert banking.executed.count(f"{recharge.ledger_transaction_id}-charge") == 1
    legs = await bank_legs(client, admin_headers)
    assert legs[f"{recharge.ledger_transaction_id}-charge"] == (recharge.ledger_transaction_id, 30_000)


async def test_a_recharge_without_a_linked_account_fails_with_the_saga_s_reason(
    saga: Saga, new_member: Callable[..., Any]
) -> None:
    alice = await new_member(linked=False)
    answer = await saga.send(
        RechargeWallet(ledger_transaction_id=transaction_id(), membership_id=alice.membership_id, amount=10_000)
    )
    assert isinstance(answer, LedgerTransactionFailed) and answer.reason == "no-linked-account"
