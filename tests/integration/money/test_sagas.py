"""Recharges and withdrawals: the sagas behind them, their failures, compensation and crash-resume."""

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from pay.contracts.banking import FirmbankingSucceeded, RequestFirmbanking
from pay.contracts.clients import BankClient, MoneyClient, PaymentClient, RemittanceClient, SettlementClient
from pay.contracts.membership import MembershipRegistered
from pay.platform import auth
from pay.platform.broker import Broker
from pay.reconcile import Services, reconcile

from money_support import FakeBanking, Member
from support import serving, token_for


async def recharge(client: httpx.AsyncClient, member: Member, amount: int, path: str = "increase") -> httpx.Response:
    body = {"targetMembershipId": member.membership_id, "amount": amount}
    return await client.post(f"/money/{path}", json=body, headers=member.headers)


async def wallet(client: httpx.AsyncClient, member: Member) -> dict[str, Any]:
    return dict((await client.get(f"/money/{member.membership_id}", headers=member.headers)).json())


async def settled(client: httpx.AsyncClient, member: Member, request_id: str, seconds: float = 10) -> dict[str, Any]:
    for _ in range(int(seconds / 0.1)):
        found = (await client.get(f"/money/changing-requests/{request_id}", headers=member.headers)).json()
        if found["status"] != "REQUESTED":
            return dict(found)
        await asyncio.sleep(0.1)
    raise AssertionError(f"request {request_id} still running")


def charges_of(banking: FakeBanking, request_id: str) -> list[str]:
    return [transfer for transfer in banking.executed if transfer.startswith(request_id)]


async def test_a_recharge_charges_the_bank_account_and_credits_the_wallet(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    member = await new_member(banking=banking)
    response = await recharge(client, member, 40_000)
    assert response.status_code == 200
    assert response.json()["status"] == "SUCCEEDED"
    assert (await wallet(client, member))["balance"] == 40_000
    request_id = response.json()["moneyChangingRequestId"]
    assert charges_of(banking, request_id) == [f"{request_id}-charge"]
    command = next(c for c in banking.commands if c.transfer_id == f"{request_id}-charge")
    assert (command.to_bank_name, command.to_bank_account_number) == ("PAYBANK", "100-0000-0001")


async def test_a_refused_charge_fails_and_credits_nothing(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    member = await new_member(banking=banking)
    banking.refuse[f"110-{member.membership_id[:8]}"] = "insufficient-funds"
    response = await recharge(client, member, 40_000)
    assert response.json()["status"] == "FAILED" and response.json()["reason"] == "insufficient-funds"
    assert (await wallet(client, member))["balance"] == 0


async def test_no_linked_account_fails_before_any_money_moves(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    member = await new_member(linked=False)
    response = await recharge(client, member, 10_000)
    assert response.json()["status"] == "FAILED" and response.json()["reason"] == "no-linked-account"
    assert not charges_of(banking, response.json()["moneyChangingRequestId"])


async def test_banking_down_fails_cleanly_after_the_deadline(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    member = await new_member(banking=banking)
    banking.down = True
    try:
        response = await recharge(client, member, 10_000)
        assert response.json()["status"] == "FAILED" and response.json()["reason"] == "banking-unavailable"
    finally:
        banking.down = False
    assert (await wallet(client, member))["balance"] == 0


async def test_a_credit_past_the_wallet_limit_is_refunded_to_the_bank_account(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    member = await new_member(banking=banking)
    response = await recharge(client, member, 1_000_001)
    assert response.json()["status"] == "FAILED" and response.json()["reason"] == "balance-limit-exceeded"
    request_id = response.json()["moneyChangingRequestId"]
    assert charges_of(banking, request_id) == [f"{request_id}-charge", f"{request_id}-refund"]
    refund = next(c for c in banking.commands if c.transfer_id == f"{request_id}-refund")
    assert refund.to_bank_account_number == f"110-{member.membership_id[:8]}"
    assert (await wallet(client, member))["balance"] == 0


def refunds_of(banking: FakeBanking, request_id: str) -> list[str]:
    """The refund transfers money asked for, each once, in order."""
    asked = (c.transfer_id for c in banking.commands if c.transfer_id.startswith(f"{request_id}-refund"))
    return list(dict.fromkeys(asked))


async def test_a_refund_the_members_bank_keeps_refusing_is_tried_again_then_named_for_an_operator(
    client: httpx.AsyncClient,
    money_app: Callable[..., FastAPI],
    new_member: Callable[..., Any],
    banking: FakeBanking,
    admin_headers: dict[str, str],
    data_dir: Path,
) -> None:
    member = await new_member(banking=banking)
    account = f"110-{member.membership_id[:8]}"
    banking.refuses = lambda command: "account-closed" if command.to_bank_account_number == account else None
    try:
        response = await recharge(client, member, 1_000_001)
    finally:
        banking.refuses = lambda _: None
    failed = response.json()
    assert failed["status"] == "FAILED"
    assert failed["reason"] == "balance-limit-exceeded; refund refused: account-closed"
    request_id = failed["moneyChangingRequestId"]
    refunds = refunds_of(banking, request_id)
    assert refunds[:2] == [f"{request_id}-refund", f"{request_id}-refund-2"]
    assert refunds == [f"{request_id}-refund"] + [f"{request_id}-refund-{n}" for n in range(2, len(refunds) + 1)]
    assert charges_of(banking, request_id) == [f"{request_id}-charge"]
    assert (await wallet(client, member))["balance"] == 0

    owed = {
        "moneyChangingRequestId": request_id,
        "membershipId": member.membership_id,
        "amount": 1_000_001,
        "reason": failed["reason"],
    }
    listed = await client.get("/money/failed-refunds?limit=500", headers=admin_headers)
    assert owed in listed.json()["items"]
    assert (await client.get("/money/failed-refunds", headers=member.headers)).status_code == 403

    app = money_app(wallet_balance_limit=1_000_000)
    corporate = {"bankName": "PAYBANK", "bankAccountNumber": "100-0000-0001", "holderName": "Pay", "balance": 0}
    bank_answer = httpx.MockTransport(
        lambda request: httpx.Response(
            200,
            json={"items": []} if request.url.path.endswith("/statement") else {**corporate, "valid": True},
        )
    )
    at_rest = httpx.MockTransport(
        lambda _: httpx.Response(200, json={"unfinishedSagas": 0, "runningSettlements": 0, "pendingLines": 0})
    )
    async with (
        serving(app),
        MoneyClient(
            "http://testserver",
            token=token_for(data_dir, "admin", auth.Role.ADMIN),
            transport=httpx.ASGITransport(app=app),
        ) as money,
        BankClient("http://bank", transport=bank_answer) as bank,
        RemittanceClient("http://remittance", transport=at_rest) as remittance,
        PaymentClient("http://payment", transport=at_rest) as payment,
        SettlementClient("http://settlement", transport=at_rest) as settlement,
    ):
        services = Services(bank, money, remittance, payment, settlement)
        result = await reconcile(services, "PAYBANK", "100-0000-0001", 0)
    assert owed == next(
        refund.model_dump(by_alias=True)
        for refund in result.failed_refunds
        if refund.money_changing_request_id == request_id
    )
    assert result.owed_by_failed_refunds >= 1_000_001 and not result.holds


async def test_a_refund_taken_after_a_refusal_fails_the_recharge_for_its_first_reason(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking, admin_headers: dict[str, str]
) -> None:
    member = await new_member(banking=banking)
    account = f"110-{member.membership_id[:8]}"

    def first_refund_refused(command: RequestFirmbanking) -> str | None:
        first = command.to_bank_account_number == account and command.transfer_id.endswith("-refund")
        return "account-frozen" if first else None

    banking.refuses = first_refund_refused
    try:
        response = await recharge(client, member, 1_000_001)
    finally:
        banking.refuses = lambda _: None
    assert response.json()["status"] == "FAILED" and response.json()["reason"] == "balance-limit-exceeded"
    request_id = response.json()["moneyChangingRequestId"]
    assert refunds_of(banking, request_id) == [f"{request_id}-refund", f"{request_id}-refund-2"]
    assert charges_of(banking, request_id) == [f"{request_id}-charge", f"{request_id}-refund-2"]
    listed = await client.get("/money/failed-refunds?limit=500", headers=admin_headers)
    assert request_id not in {item["moneyChangingRequestId"] for item in listed.json()["items"]}


async def test_banking_is_asked_for_the_account_with_the_saga_unlocked_and_leased(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking, database_url: str
) -> None:
    member = await new_member(banking=banking)
    seen: list[str] = []

    async def look_at_the_saga(membership_id: str) -> None:
        if membership_id != member.membership_id:
            return
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as connection:
                row = (
                    await connection.execute(
                        sa.text("SELECT wake_at FROM sagas WHERE data->>'membershipId' = :m FOR UPDATE NOWAIT"),
                        {"m": membership_id},
                    )
                ).one()
            leased = row.wake_at > datetime.now(UTC) + timedelta(seconds=5)
            seen.append("unlocked, leased" if leased else "unlocked, due")
        except sa.exc.DBAPIError:  # NOWAIT: the saga's row is locked
            seen.append("locked")
        finally:
            await engine.dispose()

    banking.during_lookup = look_at_the_saga
    try:
        response = await recharge(client, member, 1_000)
    finally:
        banking.during_lookup = None
    assert response.json()["status"] == "SUCCEEDED"
    assert seen == ["unlocked, leased"]


async def test_silence_from_banking_is_met_with_the_same_command_again(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    member = await new_member(banking=banking)
    banking.silent_times = 2
    response = await recharge(client, member, 7_000)
    assert response.json()["status"] == "SUCCEEDED"
    request_id = response.json()["moneyChangingRequestId"]
    sent = [c.transfer_id for c in banking.commands if c.transfer_id.startswith(request_id)]
    assert len(sent) >= 3 and set(sent) == {f"{request_id}-charge"}
    assert (await wallet(client, member))["balance"] == 7_000


async def test_increase_async_answers_at_once_and_can_be_polled(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    member = await new_member(banking=banking)
    response = await recharge(client, member, 3_000, path="increase-async")
    assert response.status_code == 202 and response.json()["status"] == "REQUESTED"
    assert response.headers["location"] == response.json()["statusUrl"]
    final = await settled(client, member, response.json()["moneyChangingRequestId"])
    assert final["status"] == "SUCCEEDED"


async def test_duplicate_answers_credit_once(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking, bank_responder: Broker
) -> None:
    member = await new_member(banking=banking)
    response = await recharge(client, member, 5_000)
    request_id = response.json()["moneyChangingRequestId"]
    again = FirmbankingSucceeded(
        correlation_id=request_id,
        transfer_id=f"{request_id}-charge",
        firmbanking_request_id=request_id,
        money_amount=5_000,
    )
    await bank_responder.publish_message(again)
    await bank_responder.publish_message(again)
    await asyncio.sleep(0.5)
    assert (await wallet(client, member))["balance"] == 5_000


async def test_a_withdrawal_holds_then_pays_out(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    member = await new_member(20_000, banking=banking)
    response = await recharge(client, member, 15_000, path="decrease")
    assert response.json()["status"] == "SUCCEEDED"
    assert (await wallet(client, member)) == {
        "membershipId": member.membership_id,
        "balance": 5_000,
        "heldAmount": 0,
    }
    payout = next(c for c in banking.commands if c.transfer_id == f"{response.json()['moneyChangingRequestId']}-payout")
    assert (payout.from_bank_name, payout.to_bank_account_number) == ("PAYBANK", f"110-{member.membership_id[:8]}")
    history = await client.get(f"/money/history/{member.membership_id}", headers=member.headers)
    assert [item["kind"] for item in history.json()["items"]][:2] == ["HOLD_CAPTURED", "HELD"]


async def test_a_refused_withdrawal_gives_the_money_back(
    client: httpx.AsyncClient, new_member: Callable[..., Any], banking: FakeBanking
) -> None:
    member = await new_member(20_000, banking=banking)
    banking.refuse["100-0000-0001"] = "corporate-account-frozen"
    try:
        response = await recharge(client, member, 15_000, path="decrease")
    finally:
        del banking.refuse["100-0000-0001"]
    assert response.json()["status"] == "FAILED"
    assert (await wallet(client, member))["balance"] == 20_000
    overdraw = await recharge(client, member, 20_001, path="decrease")
    assert overdraw.status_code == 409 and overdraw.json()["code"] == "insufficient-balance"


async def test_a_recharge_interrupted_by_a_crash_finishes_exactly_once(
    money_app: Callable[..., FastAPI],
    client: httpx.AsyncClient,
    new_member: Callable[..., Any],
    banking: FakeBanking,
) -> None:
    member = await new_member(banking=banking)
    banking.silent_times = 10**6
    async with serving(money_app()) as doomed:
        started = await recharge(doomed, member, 9_000, path="increase-async")
        request_id = started.json()["moneyChangingRequestId"]
        for _ in range(50):
            if any(c.transfer_id == f"{request_id}-charge" for c in banking.commands):
                break
            await asyncio.sleep(0.1)
    # That instance is gone with its process mid-saga; another one takes over once banking answers again.
    banking.silent_times = 0
    async with serving(money_app()) as survivor:
        final = await settled(survivor, member, request_id)
    assert final["status"] == "SUCCEEDED"
    assert charges_of(banking, request_id) == [f"{request_id}-charge"]
    assert (await wallet(client, member))["balance"] == 9_000


async def test_registration_opens_a_wallet(
    bank_responder: Broker, client: httpx.AsyncClient, admin_headers: Any
) -> None:
    membership_id = str(uuid.uuid4())
    event = MembershipRegistered(membership_id=membership_id, address="강남구", is_valid=True, is_corp=False)
    await bank_responder.publish_message(event)
    await bank_responder.publish_message(event)
    for _ in range(50):
        response = await client.get(f"/money/{membership_id}", headers=admin_headers)
        if response.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert response.json() == {"membershipId": membership_id, "balance": 0, "heldAmount": 0}


async def test_the_summary_keeps_its_public_field_names(client: httpx.AsyncClient, admin_headers: Any) -> None:
    summary = (await client.get("/money/summary", headers=admin_headers)).json()
    assert set(summary) == {
        "wallets",
        "totalBalance",
        "totalHeld",
        "pendingRequests",
        "unfinishedProcesses",
        "totalPayables",
        "revenue",
    }
    assert summary["unfinishedProcesses"] >= 0
