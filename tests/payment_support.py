"""Membership, franchise, banking and money as payment's tests play them: their HTTP answers on one real port,
and money's and banking's answers to the commands on the broker."""

from dataclasses import dataclass, field

from fastapi import FastAPI, HTTPException

from pay.contracts.banking import FirmbankingFailed, FirmbankingSucceeded, RequestFirmbanking
from pay.contracts.money import (
    ChangingType,
    CreditPayable,
    LedgerCommand,
    LedgerTransactionFailed,
    LedgerTransactionSucceeded,
    PayFromWallet,
    RechargeWallet,
    RefundFromPayable,
    RefundToWallet,
)
from pay.platform.broker import Broker

KINDS = {
    RechargeWallet: ChangingType.INCREASE,
    PayFromWallet: ChangingType.PAYMENT,
    CreditPayable: ChangingType.PAYABLE_CREDIT,
    RefundToWallet: ChangingType.REFUND,
    RefundFromPayable: ChangingType.REFUND,
}
COMMANDS = tuple(KINDS)


@dataclass
class FakeFranchise:
    owner: str
    fee_rate: str
    valid: bool = True


@dataclass
class FakeWorld:
    """Members with their wallets and linked accounts, franchises, and how money and the bank answer."""

    balances: dict[str, int] = field(default_factory=dict)
    invalid_members: set[str] = field(default_factory=set)
    linked: dict[str, tuple[str, str]] = field(default_factory=dict)
    franchises: dict[str, FakeFranchise] = field(default_factory=dict)
    # Services whose HTTP answers are 503 ("membership", "franchise", "banking", "money").
    down: set[str] = field(default_factory=set)
    # Ledger commands by class name that money refuses, with the reason, or leaves unanswered.
    refuse: dict[str, str] = field(default_factory=dict)
    silent: set[str] = field(default_factory=set)
    # Transfers the bank refuses, by the end of their id ("charge", "refund"), with its reason.
    bank_refusals: dict[str, str] = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)
    commands: dict[str, LedgerCommand] = field(default_factory=dict)
    transfers: list[str] = field(default_factory=list)
    transfer_commands: dict[str, RequestFirmbanking] = field(default_factory=dict)

    def _up(self, service: str) -> None:
        if service in self.down:
            raise HTTPException(503)

    def http_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/membership/{membership_id}")
        async def member(membership_id: str) -> dict[str, object]:
            self._up("membership")
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
            self._up("money")
            if membership_id not in self.balances:
                raise HTTPException(404)
            return {"membershipId": membership_id, "balance": self.balances[membership_id], "heldAmount": 0}

        @app.get("/banking/account/{membership_id}")
        async def linked_account(membership_id: str) -> dict[str, object]:
            self._up("banking")
            if membership_id not in self.linked:
                raise HTTPException(404)
            bank, number = self.linked[membership_id]
            return {
                "registeredBankAccountId": f"acct-{membership_id}",
                "membershipId": membership_id,
                "bankName": bank,
                "bankAccountNumber": number,
                "linkedStatusIsValid": True,
                "createdAt": "2026-01-01T00:00:00Z",
            }

        @app.get("/franchise/{franchise_id}")
        async def franchise(franchise_id: str) -> dict[str, object]:
            self._up("franchise")
            found = self.franchises.get(franchise_id)
            if found is None:
                raise HTTPException(404)
            return {
                "franchiseId": franchise_id,
                "ownerMembershipId": found.owner,
                "name": "Shop",
                "contact": "02-000-0000",
                "bankName": "KB",
                "bankAccountNumber": "900-1",
                "feeRate": found.fee_rate,
                "webhookUrl": None,
                "isValid": found.valid,
                "createdAt": "2026-01-01T00:00:00Z",
                "updatedAt": "2026-01-01T00:00:00Z",
            }

        return app

    async def answer_ledger(self, command: LedgerCommand, broker: Broker) -> None:
        name, kind = type(command).__name__, KINDS[type(command)]
        if name in self.silent:
            return
        reason = self.refuse.get(name)
        first = command.ledger_transaction_id not in self.applied
        if reason is None and first and isinstance(command, PayFromWallet):
            if self.balances.get(command.membership_id, 0) < command.amount:
                reason = "insufficient-balance"
            else:
                self.balances[command.membership_id] -= command.amount
        if reason is not None:
            await broker.publish_message(
                LedgerTransactionFailed(
                    correlation_id=command.correlation_id,
                    ledger_transaction_id=command.ledger_transaction_id,
                    kind=kind,
                    reason=reason,
                )
            )
            return
        if first:
            self.applied.append(command.ledger_transaction_id)
            self.commands[command.ledger_transaction_id] = command
            if isinstance(command, RechargeWallet | RefundToWallet):
                self.balances[command.membership_id] += command.amount
        await broker.publish_message(
            LedgerTransactionSucceeded(
                correlation_id=command.correlation_id, ledger_transaction_id=command.ledger_transaction_id, kind=kind
            )
        )

    async def answer_transfer(self, command: RequestFirmbanking, broker: Broker) -> None:
        reason = self.bank_refusals.get(command.transfer_id.rsplit("-", 1)[-1])
        if reason is not None:
            await broker.publish_message(
                FirmbankingFailed(
                    correlation_id=command.correlation_id,
                    transfer_id=command.transfer_id,
                    firmbanking_request_id=f"fb-{command.transfer_id}",
                    reason=reason,
                )
            )
            return
        if command.transfer_id not in self.transfers:
            self.transfers.append(command.transfer_id)
            self.transfer_commands[command.transfer_id] = command
        await broker.publish_message(
            FirmbankingSucceeded(
                correlation_id=command.correlation_id,
                transfer_id=command.transfer_id,
                firmbanking_request_id=f"fb-{command.transfer_id}",
                money_amount=command.money_amount,
            )
        )
