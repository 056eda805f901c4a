"""The franchise operations, one function each.

`acting_member` is the member calling for itself, who may see and change only its own franchises; None for
an admin or a service, who act for anyone and alone change a fee rate or a franchise's validity.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from pay.franchise.application.ports import (
    BankAccounts,
    Clock,
    FranchisePage,
    Owners,
    PriorAnswer,
    RequestKey,
    UnitOfWork,
)
from pay.franchise.domain.model import (
    UNCHANGED,
    BankAccount,
    Franchise,
    FranchiseChanges,
    FranchiseNotFound,
    Unchanged,
)
from pay.franchise.domain.webhooks import ensure_webhook_url, new_secret


@dataclass(frozen=True)
class Dependencies:
    uow: Callable[[], UnitOfWork]
    owners: Owners
    bank_accounts: BankAccounts
    clock: Clock
    # Development: webhooks may go to this machine (see `FranchiseSettings.webhooks_to_loopback`).
    webhooks_to_loopback: bool


@dataclass(frozen=True)
class Registration:
    owner_membership_id: str
    name: str
    contact: str
    settlement_account: BankAccount
    fee_rate: Decimal
    webhook_url: str | None


@dataclass(frozen=True)
class Modification:
    """What a caller asks to change (None, or UNCHANGED for the webhook, leaves a field alone); a new settlement
    account is named by either or both of its fields."""

    name: str | None = None
    contact: str | None = None
    bank_name: str | None = None
    bank_account_number: str | None = None
    fee_rate: Decimal | None = None
    webhook_url: str | Unchanged | None = UNCHANGED
    is_valid: bool | None = None


@dataclass(frozen=True)
class Registered:
    """A franchise just registered, and its webhook signing secret: shown this once."""

    franchise: Franchise
    webhook_secret: str


def _checked_webhook_url(deps: Dependencies, url: str | Unchanged | None) -> str | Unchanged | None:
    return (
        url if url is None or url is UNCHANGED else ensure_webhook_url(url, loopback_allowed=deps.webhooks_to_loopback)
    )


async def register_franchise(
    deps: Dependencies, registration: Registration, key: RequestKey | None = None
) -> Registered | PriorAnswer:
    """Check the webhook URL, the owner and the settlement account, then record the franchise and its new webhook
    secret in one transaction with its Idempotency-Key. A key used before gets its earlier answer and records
    nothing."""
    _checked_webhook_url(deps, registration.webhook_url)
    if key is not None:
        async with deps.uow() as uow:
            if (earlier := await uow.earlier_answer(key)) is not None:
                return earlier
    franchise = Franchise.register(
        str(uuid.uuid4()),
        registration.owner_membership_id,
        registration.name,
        registration.contact,
        registration.settlement_account,
        registration.fee_rate,
        registration.webhook_url,
        deps.clock(),
    )
    (await deps.owners.owner(registration.owner_membership_id)).ensure_may_own_franchise()
    await deps.bank_accounts.ensure_usable(registration.settlement_account)
    registered = Registered(franchise, new_secret())
    async with deps.uow() as uow:
        await uow.franchises.add(franchise)
        await uow.webhook_secrets.put(franchise.franchise_id, registered.webhook_secret)
        if key is not None:
            await uow.keep_answer(key, registered)
        await uow.commit()
    return registered


async def get_franchise(deps: Dependencies, franchise_id: str, acting_member: str | None) -> Franchise:
    async with deps.uow() as uow:
        found = await uow.franchises.get(franchise_id)
    if found is None or (acting_member is not None and not found.owned_by(acting_member)):
        # Another member's franchise is not even said to exist.
        raise FranchiseNotFound(franchise_id)
    return found


async def franchises(
    deps: Dependencies, owner_membership_id: str | None, after: int | None, limit: int
) -> FranchisePage:
    async with deps.uow() as uow:
        return await uow.franchises.page(owner_membership_id, after, limit)


async def modify_franchise(
    deps: Dependencies, franchise_id: str, modification: Modification, acting_member: str | None
) -> Franchise:
    """Refuse what the caller may not change before asking the bank about a new settlement account, then
    apply the change to the franchise as it stands, under its row lock (the bank is not asked under it)."""
    privileged = acting_member is None
    _checked_webhook_url(deps, modification.webhook_url)
    current = await get_franchise(deps, franchise_id, acting_member)
    account = current.new_settlement_account(modification.bank_name, modification.bank_account_number)
    changes = FranchiseChanges(
        name=modification.name,
        contact=modification.contact,
        settlement_account=account,
        fee_rate=modification.fee_rate,
        webhook_url=modification.webhook_url,
        is_valid=modification.is_valid,
    )
    current.modify(changes, deps.clock(), privileged=privileged)
    if account is not None:
        await deps.bank_accounts.ensure_usable(account)
    async with deps.uow() as uow:
        franchise = await uow.franchises.get(franchise_id, for_update=True)
        assert franchise is not None, f"franchise {franchise_id} vanished"
        franchise.modify(changes, deps.clock(), privileged=privileged)
        await uow.franchises.save(franchise)
        await uow.commit()
    return franchise
