"""Membership, banking and money as remittance's tests play them: their HTTP answers on one real port, and
money's and banking's answers to the commands on the broker."""

from dataclasses import dataclass, field

from fastapi import FastAPI, HTTPException

from pay.contracts.banking import FirmbankingFailed, FirmbankingSucceeded, RequestFirmbanking
from pay.contracts.money import (
    CaptureHold,
    HoldMoney,
    LedgerCommand,
    LedgerTransactionFailed,
    LedgerTransactionSucceeded,
    RechargeWallet,
    ReleaseHold,
    TransferBetweenWallets,
)
from pay.platform.broker import Broker

KINDS = {
    RechargeWallet: "INCREASE",
    TransferBetweenWallets: "TRANSFER",
    HoldMoney: "HOLD",
    CaptureHold: "CAPTURE",
    ReleaseHold: "RELEASE",
}


@dataclass
class FakeWorld:
    """Members with their wallet balances, bank accounts, and how money and the bank answer."""

    balances: dict[str, int] = field(default_factory=dict)
    invalid_members: set[str] = field(default_factory=set)
    bank_accounts: set[tuple[str, str]] = field(default_factory=set)
    # Ledger commands by kind that money refuses, with the reason, or leaves unanswered.
    refuse: dict[str, str] = field(default_factory=dict)
    silent: set[str] = field(default_factory=set)
    payout_refusal: str | None = None
    applied: list[str] = field(default_factory=list)
    payouts: list[str] = field(default_factory=list)

    def http_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/membership/{membership_id}")
        async def member(membership_id: str) -> dict[str, object]:
            if membership_id not in self.balances:
                raise HTTPException(404)
            return {
                "membershipId": membership_id,
                "name": "Member",
                "email": f"{membership_id}@example.com",
                "address": "Seoul",
                "isValid": membership_id not in self.invalid_members,
                "isCorp": False,
                "createdAt": "2026-01-01T00:00:00Z",
                "updatedAt": "2026-01-01T00:00:00Z",
            }

        @app.get("/money/{membership_id}")
        async def wallet(membership_id: str) -> dict[str, object]:
            if membership_id not in self.balances:
                raise HTTPException(404)
            return {"membershipId": membership_id, "balance": self.balances[membership_id], "heldAmount": 0}

        @app.get("/banking/bank-account/{bank_name}/{number}")
        async def bank_account(bank_name: str, number: str) -> dict[str, object]:
            if (bank_name, number) not in self.bank_accounts:
                raise HTTPException(404)
            return {"bankName": bank_name, "bankAccountNumber": number, "holderName": "Holder", "valid": True}

        return app

    async def answer_ledger(self, command: LedgerCommand, broker: Broker) -> None:
        kind = KINDS[type(command)]
        if kind in self.silent:
            return
        if (reason := self.refuse.get(kind)) is not None:
            await broker.publish_message(
                LedgerTransactionFailed(
                    correlation_id=command.correlation_id,
                    ledger_transaction_id=command.ledger_transaction_id,
                    kind=kind,
                    reason=reason,
                )
            )
            return
        if command.ledger_transaction_id not in self.applied:
            self.applied.append(command.ledger_transaction_id)
        await broker.publish_message(
            LedgerTransactionSucceeded(
                correlation_id=command.correlation_id, ledger_transaction_id=command.ledger_transaction_id, kind=kind
            )
        )

    async def answer_payout(self, command: RequestFirmbanking, broker: Broker) -> None:
        if self.payout_refusal is not None:
            await broker.publish_message(
                FirmbankingFailed(
                    correlation_id=command.correlation_id,
                    transfer_id=command.transfer_id,
                    firmbanking_request_id=f"fb-{command.transfer_id}",
                    reason=self.payout_refusal,
                )
            )
            return
        if command.transfer_id not in self.payouts:
            self.payouts.append(command.transfer_id)
        await broker.publish_message(
            FirmbankingSucceeded(
                correlation_id=command.correlation_id,
                transfer_id=command.transfer_id,
                firmbanking_request_id=f"fb-{command.transfer_id}",
                money_amount=command.money_amount,
            )
        )
