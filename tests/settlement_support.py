"""Payment, franchise, money and banking as settlement's tests play them: payment's and franchise's HTTP answers
on one real port, and money's and banking's answers to settlement's commands on the broker."""

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Body, FastAPI, HTTPException

from pay.contracts.banking import FirmbankingFailed, FirmbankingSucceeded, RequestFirmbanking
from pay.contracts.money import LedgerTransactionSucceeded, SettlePayable
from pay.platform.broker import Broker

SEOUL = ZoneInfo("Asia/Seoul")
NOON_OF_DAY_ONE = "2026-12-01T12:00:00+09:00"


@dataclass
class FakeWorld:
    """Franchises, their payments and refunds, their payables at money, and the bank's payouts."""

    franchises: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    payable: dict[str, int] = field(default_factory=dict)
    revenue: int = 0
    # Money's ledger transactions by id: (fee, payout) applied, or the reason it was refused.
    settled: dict[str, tuple[int, int]] = field(default_factory=dict)
    # The bank's payouts by transfer id, and the accounts it refuses to pay, with the reason.
    paid_out: dict[str, int] = field(default_factory=dict)
    refusing: dict[str, str] = field(default_factory=dict)
    # What each run claimed of each franchise: (settlementId, franchiseId) → payment's answer.
    claims: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # Money leaves settlements unanswered (as if down); payment refuses to finish settlements.
    money_silent: bool = False
    payment_down: bool = False

    def franchise(self, owner: str = "owner") -> str:
        franchise_id = f"f-{uuid.uuid4().hex[:10]}"
        self.franchises[franchise_id] = {
            "franchiseId": franchise_id,
            "ownerMembershipId": owner,
            "name": "Shop",
            "bankName": "SH",
            "bankAccountNumber": f"acc-{franchise_id}",
            "contact": "02-555-0100",
            "feeRate": "3",
            "webhookUrl": None,
            "isValid": True,
            "createdAt": NOON_OF_DAY_ONE,
            "updatedAt": NOON_OF_DAY_ONE,
        }
        self.payable[franchise_id] = 0
        return franchise_id

    def pay(self, franchise_id: str, price: int, fee: int, day: date, status: str = "APPROVED") -> str:
        """A payment approved at noon of `day` in Seoul: its price credited to the franchise's payable."""
        payment_id = f"p-{uuid.uuid4().hex[:12]}"
        self.payments[payment_id] = {
            "paymentId": payment_id,
            "requestMembershipId": "payer",
            "franchiseId": franchise_id,
            "requestPrice": price,
            "refundedAmount": 0,
            "fee": fee,
            "method": "WALLET",
            "feeRate": "3",
            "status": status,
            "reason": None,
            "approvedAt": datetime.combine(day, time(12), tzinfo=SEOUL).isoformat(),
            "settledAt": None,
            "settlementId": None,
            "orderId": None,
            "createdAt": NOON_OF_DAY_ONE,
            "updatedAt": NOON_OF_DAY_ONE,
            "statusUrl": f"/payment/{payment_id}",
        }
        if status == "APPROVED":
            self.payable[franchise_id] += price
        return payment_id

    def refund(self, payment_id: str, amount: int) -> str:
        """A refund out of the franchise's payable; one of a settled payment is owed by the franchise."""
        payment = self.payments[payment_id]
        payment["refundedAmount"] += amount
        self.payable[payment["franchiseId"]] -= amount
        refund_id = f"r-{uuid.uuid4().hex[:12]}"
        self.refunds[refund_id] = {
            "refundId": refund_id,
            "paymentId": payment_id,
            "franchiseId": payment["franchiseId"],
            "amount": amount,
            "status": "SUCCEEDED",
            "reason": None,
            "afterSettlement": payment["status"] == "SETTLED",
            "deductedBySettlementId": None,
            "claimedBy": None,
            "createdAt": NOON_OF_DAY_ONE,
            "updatedAt": NOON_OF_DAY_ONE,
            "statusUrl": f"/payment/{payment_id}/refunds/{refund_id}",
        }
        return refund_id

    def account_of(self, franchise_id: str) -> str:
        return str(self.franchises[franchise_id]["bankAccountNumber"])

    def paid_to(self, franchise_id: str) -> int:
        return sum(amount for transfer, amount in self.paid_out.items() if f"-{franchise_id}-" in transfer)

    def http_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/franchise/{franchise_id}")
        async def franchise(franchise_id: str) -> dict[str, Any]:
            if franchise_id not in self.franchises:
                raise HTTPException(404)
            return self.franchises[franchise_id]

        @app.post("/payment/settlement/claim")
        async def claim(body: dict[str, Any] = Body()) -> dict[str, Any]:
            # No await inside: as payment's one transaction, a claim is atomic to concurrent ones.
            sid = body["settlementId"]
            if not any(key[0] == sid for key in self.claims):
                since, until = datetime.fromisoformat(body["since"]), datetime.fromisoformat(body["until"])
                for payment in self.payments.values():
                    approved = datetime.fromisoformat(payment["approvedAt"])
                    if (
                        payment["status"] == "APPROVED"
                        and payment["settlementId"] is None
                        and since <= approved < until
                    ):
                        payment["status"], payment["settlementId"] = "SETTLING", sid
                        line = self.claims.setdefault(
                            (sid, payment["franchiseId"]),
                            {"settlementId": sid, "franchiseId": payment["franchiseId"], "gross": 0, "fee": 0,
                             "paymentCount": 0, "owed": 0, "status": "CLAIMED"},
                        )  # fmt: skip
                        line["gross"] += payment["requestPrice"] - payment["refundedAmount"]
                        line["fee"] += payment["fee"]
                        line["paymentCount"] += 1
                for refund in self.refunds.values():
                    line = self.claims.get((sid, refund["franchiseId"]))
                    if (
                        line
                        and refund["afterSettlement"]
                        and not refund["deductedBySettlementId"]
                        and not refund["claimedBy"]
                    ):
                        refund["claimedBy"] = sid
                        line["owed"] += refund["amount"]
            franchises = [line for key, line in sorted(self.claims.items()) if key[0] == sid]
            return {"settlementId": sid, "franchises": franchises}

        def line_of(body: dict[str, Any]) -> dict[str, Any]:
            line = self.claims.get((body["settlementId"], body["franchiseId"]))
            if line is None:
                raise HTTPException(404)
            return line

        def claimed_by(line: dict[str, Any]) -> list[dict[str, Any]]:
            return [
                payment
                for payment in self.payments.values()
                if (payment["settlementId"], payment["franchiseId"]) == (line["settlementId"], line["franchiseId"])
            ]

        @app.post("/payment/finish-settlement")
        async def finish(body: dict[str, Any] = Body()) -> dict[str, Any]:
            if self.payment_down:
                raise HTTPException(503)
            line = line_of(body)
            if line["status"] == "RELEASED":
                raise HTTPException(409)
            if line["status"] == "CLAIMED":
                for payment in claimed_by(line):
                    payment["status"] = "SETTLED"
                for refund in self.refunds.values():
                    if (refund["claimedBy"], refund["franchiseId"]) == (line["settlementId"], line["franchiseId"]):
                        refund["deductedBySettlementId"] = line["settlementId"]
                line["status"] = "SETTLED"
            return line

        @app.post("/payment/settlement/release")
        async def release(body: dict[str, Any] = Body()) -> dict[str, Any]:
            line = line_of(body)
            if line["status"] == "SETTLED":
                raise HTTPException(409)
            if line["status"] == "CLAIMED":
                for payment in claimed_by(line):
                    payment["status"], payment["settlementId"] = "APPROVED", None
                for refund in self.refunds.values():
                    if (refund["claimedBy"], refund["franchiseId"]) == (line["settlementId"], line["franchiseId"]):
                        refund["claimedBy"] = None
                line["status"] = "RELEASED"
            return line

        @app.get("/payment/settlement/{settlement_id}/payments")
        async def settled_by(settlement_id: str, cursor: int = 0, limit: int = 50) -> dict[str, Any]:
            found = sorted(
                (payment for payment in self.payments.values() if payment["settlementId"] == settlement_id),
                key=lambda payment: (payment["franchiseId"], payment["paymentId"]),
            )
            return _page(found, cursor, limit)

        return app

    async def answer_settlement(self, command: SettlePayable, broker: Broker) -> None:
        if self.money_silent:
            return
        transaction = command.ledger_transaction_id
        if transaction not in self.settled:
            self.payable[command.franchise_id] -= command.fee + command.payout
            self.revenue += command.fee
            self.settled[transaction] = (command.fee, command.payout)
        common = {"correlation_id": command.correlation_id, "ledger_transaction_id": transaction, "kind": "SETTLEMENT"}
        await broker.publish_message(LedgerTransactionSucceeded(**common))

    async def answer_payout(self, command: RequestFirmbanking, broker: Broker) -> None:
        common = {
            "correlation_id": command.correlation_id,
            "transfer_id": command.transfer_id,
            "firmbanking_request_id": f"fb-{command.transfer_id}",
        }
        if (reason := self.refusing.get(command.to_bank_account_number)) is not None:
            await broker.publish_message(FirmbankingFailed(**common, reason=reason))
            return
        assert command.from_bank_account_number == "100-0000-0001"
        self.paid_out.setdefault(command.transfer_id, command.money_amount)
        await broker.publish_message(FirmbankingSucceeded(**common, money_amount=command.money_amount))


_blocks = itertools.count()


def _page(found: list[dict[str, Any]], cursor: int, limit: int) -> dict[str, Any]:
    """Payment's pages: the cursor is where the next one starts."""
    following = cursor + limit
    return {"items": found[cursor:following], "nextCursor": str(following) if following < len(found) else None}


def fresh_days(count: int = 5) -> list[date]:
    """Days no other test pays on: a run settles every franchise's payments of its period."""
    start = date(2025, 1, 1) + timedelta(days=40 * next(_blocks))
    return [start + timedelta(days=offset) for offset in range(count)]
