"""Franchise's events on the broker: domain events become versioned contract messages, for the services that
keep what they need of a franchise (notifications its webhook, settlement its account)."""

from typing import Any

from pay.contracts.franchise import FranchiseModified, FranchiseRegistered
from pay.contracts.messages import Message
from pay.franchise.domain import model


def to_message(event: model.FranchiseEvent) -> Message:
    match event:
        case model.FranchiseRegistered():
            return FranchiseRegistered(**_state(event.franchise))
        case model.FranchiseModified():
            return FranchiseModified(**_state(event.franchise))


def _state(franchise: model.Franchise) -> dict[str, Any]:
    return {
        "franchise_id": franchise.franchise_id,
        "owner_membership_id": franchise.owner_membership_id,
        "name": franchise.name,
        "bank_name": franchise.settlement_account.bank_name,
        "bank_account_number": franchise.settlement_account.account_number,
        "fee_rate": franchise.fee_rate,
        "fee_rate_since": franchise.fee_rate_since,
        "webhook_url": franchise.webhook_url,
        "is_valid": franchise.is_valid,
    }
