"""Membership and banking as franchise's tests play them: their HTTP answers on one real port."""

from dataclasses import dataclass, field

from fastapi import FastAPI, HTTPException


@dataclass
class FakeWorld:
    """Members (corporate or not, valid or not), the accounts the bank confirms, and whether banking answers."""

    corporate: set[str] = field(default_factory=set)
    individuals: set[str] = field(default_factory=set)
    invalid_members: set[str] = field(default_factory=set)
    bank_accounts: set[tuple[str, str]] = field(default_factory=set)
    banking_down: bool = False
    bank_asked: list[tuple[str, str]] = field(default_factory=list)

    def http_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/membership/{membership_id}")
        async def member(membership_id: str) -> dict[str, object]:
            if membership_id not in self.corporate | self.individuals:
                raise HTTPException(404)
            return {
                "membershipId": membership_id,
                "name": "Member",
                "email": f"{membership_id}@example.com",
                "address": "Seoul",
                "isValid": membership_id not in self.invalid_members,
                "isCorp": membership_id in self.corporate,
                "createdAt": "2026-01-01T00:00:00Z",
                "updatedAt": "2026-01-01T00:00:00Z",
            }

        @app.get("/banking/bank-account/{bank_name}/{number}")
        async def bank_account(bank_name: str, number: str) -> dict[str, object]:
            self.bank_asked.append((bank_name, number))
            if self.banking_down:
                raise HTTPException(503)
            if (bank_name, number) not in self.bank_accounts:
                raise HTTPException(404)
            return {"bankName": bank_name, "bankAccountNumber": number, "holderName": "Holder", "valid": True}

        return app
