"""Banking as money's tests play it, the members they act as, and another service's saga sending ledger
commands."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException

from pay.contracts.banking import FirmbankingFailed, FirmbankingSucceeded, RequestFirmbanking
from pay.contracts.money import LedgerCommand, LedgerTransactionFailed, LedgerTransactionSucceeded
from pay.platform.broker import Broker


@dataclass
class FakeBanking:
    """Links accounts, and answers firm banking commands as told: succeed, fail, or stay silent."""

    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    down: bool = False
    refuse: dict[str, str] = field(default_factory=dict)
    silent_times: int = 0
    executed: list[str] = field(default_factory=list)
    commands: list[RequestFirmbanking] = field(default_factory=list)
    # Refuses any transfer it names a reason for, as the bank does once and for all per transfer id.
    refuses: Callable[[RequestFirmbanking], str | None] = lambda _: None
    # Runs while banking looks a member's account up, before it answers.
    during_lookup: Callable[[str], Awaitable[None]] | None = None

    def link(self, membership_id: str) -> None:
        self.accounts[membership_id] = {
            "registeredBankAccountId": str(uuid.uuid4()),
            "membershipId": membership_id,
            "bankName": "KB",
            "bankAccountNumber": f"110-{membership_id[:8]}",
            "linkedStatusIsValid": True,
            "createdAt": "2026-01-01T00:00:00Z",
        }

    def http_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/banking/account/{membership_id}")
        async def account(membership_id: str) -> dict[str, Any]:
            if self.during_lookup is not None:
                await self.during_lookup(membership_id)
            if self.down:
                raise HTTPException(503)
            if membership_id not in self.accounts:
                raise HTTPException(404)
            return self.accounts[membership_id]

        return app

    async def answer(self, command: RequestFirmbanking, broker: Broker) -> None:
        self.commands.append(command)
        if self.silent_times > 0:
            self.silent_times -= 1
            return
        answer: FirmbankingSucceeded | FirmbankingFailed
        refusal = self.refuse.get(command.from_bank_account_number) or self.refuses(command)
        if refusal is not None:
            answer = FirmbankingFailed(
                correlation_id=command.correlation_id,
                transfer_id=command.transfer_id,
                firmbanking_request_id=command.transfer_id,
                reason=refusal,
            )
        else:
            if command.transfer_id not in self.executed:
                self.executed.append(command.transfer_id)
            answer = FirmbankingSucceeded(
                correlation_id=command.correlation_id,
                transfer_id=command.transfer_id,
                firmbanking_request_id=command.transfer_id,
                money_amount=command.money_amount,
            )
        await broker.publish_message(answer)


@dataclass
class Member:
    membership_id: str
    headers: dict[str, str]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


Answer = LedgerTransactionSucceeded | LedgerTransactionFailed
# A redelivery after a failed attempt waits for the broker's back-off: well under this.
ANSWER_WITHIN_SECONDS = 20


class Saga:
    """Another service's saga as money sees it: it sends commands and hears the answers to its correlation ids."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.answers: dict[str, list[Answer]] = {}
        self._heard = asyncio.Condition()

    async def heard(self, answer: Answer) -> None:
        async with self._heard:
            self.answers.setdefault(answer.correlation_id or "", []).append(answer)
            self._heard.notify_all()

    async def send(self, command: LedgerCommand) -> Answer:
        """Send the command under a new correlation id, as a saga re-sending it after a restart would."""
        command.correlation_id = str(uuid.uuid4())
        await self.broker.publish_message(command)
        return await self.answer_to(command.correlation_id)

    async def answer_to(self, correlation_id: str) -> Answer:
        async with asyncio.timeout(ANSWER_WITHIN_SECONDS), self._heard:
            await self._heard.wait_for(lambda: correlation_id in self.answers)
        return self.answers[correlation_id][0]


async def wallet(client: httpx.AsyncClient, member: Member) -> tuple[int, int]:
    """Spendable balance and held amount."""
    found = (await client.get(f"/money/{member.membership_id}", headers=member.headers)).json()
    return found["balance"], found["heldAmount"]


def transaction_id() -> str:
    return f"ledger-{uuid.uuid4()}"


async def bank_legs(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, tuple[str, int]]:
    """Every bank leg the ledger recorded: its request and amount, by transfer id."""
    legs: dict[str, tuple[str, int]] = {}
    query: dict[str, str] = {"limit": "1000"}
    while True:
        page = (await client.get("/money/bank-legs", params=query, headers=headers)).json()
        legs |= {leg["transferId"]: (leg["moneyChangingRequestId"], leg["amount"]) for leg in page["items"]}
        if page["nextCursor"] is None:
            return legs
        query["cursor"] = page["nextCursor"]
