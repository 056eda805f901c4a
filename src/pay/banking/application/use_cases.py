"""The banking operations, one function each."""

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from pay.banking.application.ports import (
    Bank,
    BankUnavailable,
    Clock,
    Members,
    PriorAnswer,
    RequestKey,
    UnitOfWork,
)
from pay.banking.domain.model import (
    AccountRef,
    AccountStanding,
    BankAccountNotFound,
    BankAnswer,
    Deadlines,
    FirmbankingRequest,
    FirmbankingRequestNotFound,
    LinkedAccountNotFound,
    NotReceived,
    RegisteredBankAccount,
    SameAccount,
    TransferIdReused,
    TransferOrder,
    Unknown,
    ensure_not_linked,
)

_log = logging.getLogger(__name__)

# The inbox name under which firm banking commands are recorded as applied.
COMMAND_CONSUMER = "banking-request-firmbanking"


@dataclass(frozen=True)
class Dependencies:
    uow: Callable[[], UnitOfWork]
    members: Members
    bank: Bank
    deadlines: Deadlines
    clock: Clock


@dataclass(frozen=True)
class LinkAccount:
    membership_id: str
    account: AccountRef


@dataclass(frozen=True)
class FirmbankingCommand:
    """A saga's "request firm banking" command, as delivered by the broker."""

    message_id: str
    correlation_id: str | None
    order: TransferOrder


def _new_id() -> str:
    return str(uuid.uuid4())


async def link_account(deps: Dependencies, command: LinkAccount) -> RegisteredBankAccount:
    member = await deps.members.standing(command.membership_id)
    async with deps.uow() as uow:
        ensure_not_linked(
            await uow.accounts.of_member(member.membership_id), await uow.accounts.of_account(command.account)
        )
    standing = await deps.bank.account(command.account)
    standing.ensure_usable()
    standing.ensure_held_by(member)
    # Asked for only once the account may be linked; the bank issues one number per account however often asked.
    fintech_use_num = await deps.bank.fintech_use(command.account)
    link = RegisteredBankAccount.link(_new_id(), member, standing, fintech_use_num, deps.clock())
    async with deps.uow() as uow:
        # Checked again by the store: another request may have linked either since the check above.
        await uow.accounts.add(link)
        await uow.commit()
    return link


async def fintech_use_of(deps: Dependencies, link: RegisteredBankAccount) -> str:
    """The link's fintech-use number; a link made before the bank issued them gets one now, at its first use.
    Raises BankUnavailable, or BankAccountNotFound."""
    if link.fintech_use_num is not None:
        return link.fintech_use_num
    number = await deps.bank.fintech_use(link.account)
    async with deps.uow() as uow:
        await uow.accounts.keep_fintech_use(link.registered_bank_account_id, number)
        await uow.commit()
    link.fintech_use_num = number
    return number


async def _as_sent(deps: Dependencies, order: TransferOrder) -> TransferOrder:
    """The order with its source named by its fintech-use number, if the source is a linked account.

    A link still without one gets it now; if the bank cannot issue it, the order goes by the account number,
    which the bank takes too: a transfer is never held up by the name it goes under.
    """
    async with deps.uow() as uow:
        link = await uow.accounts.of_account(order.source)
    if link is None:
        return order
    try:
        number = await fintech_use_of(deps, link)
    except (BankUnavailable, BankAccountNotFound):
        _log.warning("no fintech-use number for the linked account %s yet", link.registered_bank_account_id)
        return order
    return replace(order, source_fintech_use_num=number)


async def confirm_bank_account(deps: Dependencies, account: AccountRef) -> AccountStanding:
    """What the bank says about an account money is to be sent to, refused on the same grounds as firm
    banking would refuse it, so that a caller learns before it commits to a transfer rather than after."""
    standing = await deps.bank.account(account)
    standing.ensure_usable()
    return standing


async def linked_account(deps: Dependencies, membership_id: str) -> RegisteredBankAccount:
    async with deps.uow() as uow:
        link = await uow.accounts.of_member(membership_id)
    if link is None:
        raise LinkedAccountNotFound(membership_id)
    return link


async def request_firmbanking(
    deps: Dependencies,
    source: AccountRef,
    destination: AccountRef,
    amount: int,
    transfer_id: str | None = None,
    key: RequestKey | None = None,
) -> FirmbankingRequest | PriorAnswer:
    """The synchronous form: the answer carries the final status, or REQUESTED if the bank did not answer in time.

    A caller that may retry passes its Idempotency-Key (`key`), kept with the request in the transaction
    that stores it, and a `transfer_id` derived from it: a retry then gets the earlier answer, or finds
    the request it already made, instead of moving the money again.

    Both accounts are checked at the bank first, so a request naming an unknown or unusable account
    is refused and nothing is stored.
    """
    if key is not None:
        async with deps.uow() as uow:
            if (earlier := await uow.earlier_answer(key)) is not None:
                return earlier
    if source == destination:
        raise SameAccount(str(source))
    for account in (source, destination):
        (await deps.bank.account(account)).ensure_usable()
    order = await _as_sent(deps, TransferOrder(transfer_id or _new_id(), source, destination, amount))
    request = FirmbankingRequest.open(_new_id(), order, deps.clock(), deps.deadlines)
    async with deps.uow() as uow:
        holder = await uow.requests.claim_transfer(request)
        if holder.firmbanking_request_id != request.firmbanking_request_id:
            if holder.order != order:
                raise TransferIdReused(order.transfer_id)
            # A retry of a request that already exists: never a second transfer; its saga settles it.
            return holder
        if key is not None:
            # Another request with this key would have met the same transfer id above: the key is free.
            await uow.keep_answer(key, request)
        await uow.commit()
    return await _attempt(deps, request)


async def apply_firmbanking_command(deps: Dependencies, command: FirmbankingCommand) -> None:
    """The event-driven form: once per message, and once per transfer id however often it is re-sent.

    The request is stored with the inbox record before the bank is called, so a command is never
    lost: if the bank does not answer in time the message is still acknowledged, and the request's
    saga answers once the outcome is known. A re-sent command for a settled request is answered again.
    There is no check of the accounts first: the command must be recorded even while the bank is
    down, and the bank's own FAILED answers an unknown or unusable account.
    """
    order = await _as_sent(deps, command.order)
    request = FirmbankingRequest.open(
        _new_id(), order, deps.clock(), deps.deadlines, correlation_id=command.correlation_id
    )
    async with deps.uow() as uow:
        if not await uow.inbox.first_delivery(COMMAND_CONSUMER, command.message_id):
            return
        holder = await uow.requests.claim_transfer(request)
        if holder.firmbanking_request_id != request.firmbanking_request_id:
            if holder.order != command.order:
                raise TransferIdReused(command.order.transfer_id)
            holder.answer_again(command.correlation_id)
            await uow.requests.save(holder)
            await uow.commit()
            return
        await uow.commit()
    await _attempt(deps, request)


async def get_firmbanking(deps: Dependencies, firmbanking_request_id: str) -> FirmbankingRequest:
    async with deps.uow() as uow:
        request = await uow.requests.get(firmbanking_request_id)
    if request is None:
        raise FirmbankingRequestNotFound(firmbanking_request_id)
    return request


async def firmbanking_of_member(deps: Dependencies, membership_id: str, limit: int) -> Sequence[FirmbankingRequest]:
    """The transfers from or to the member's linked account; none if it has linked none."""
    async with deps.uow() as uow:
        link = await uow.accounts.of_member(membership_id)
        if link is None:
            return []
        return await uow.requests.touching(link.account.bank_account_number, link.account.bank_name, limit)


async def firmbanking_of_account(
    deps: Dependencies, bank_account_number: str, bank_name: str | None, limit: int
) -> Sequence[FirmbankingRequest]:
    async with deps.uow() as uow:
        return await uow.requests.touching(bank_account_number, bank_name, limit)


async def check_firmbanking(deps: Dependencies, firmbanking_request_id: str) -> None:
    """The saga's timer says the request is due: ask the bank what became of the transfer, send it again if
    the bank never received it and the send window is open, and record what the bank said.

    The request is held (`hold`) under its lock, and the lock is let go before the bank is called: no
    lock waits on the bank, the hold keeps other instances off the request meanwhile, and it brings the
    request back should this step never report back.
    """
    async with deps.uow() as uow:
        now = deps.clock()
        request = await uow.requests.lock(firmbanking_request_id, skip_locked=True)
        if request is None or not request.is_due(now):
            return
        request.hold(now, deps.deadlines)
        await uow.requests.save(request)
        await uow.commit()
    try:
        answer = await deps.bank.outcome_of(request.transfer_id)
        if isinstance(answer, NotReceived) and request.may_send(deps.clock(), deps.deadlines):
            answer = await deps.bank.transfer(request.order, request.send_until(deps.deadlines))
    except Exception as error:
        # Whatever went wrong with this one check, the request waits for its next one like any unanswered one.
        _log.exception("firmbanking request %s could not be checked", firmbanking_request_id)
        answer = Unknown(repr(error))
    await _record(deps, firmbanking_request_id, answer)


async def _attempt(deps: Dependencies, request: FirmbankingRequest) -> FirmbankingRequest:
    """The requester's own attempt at the bank, right after storing the request (which holds it meanwhile)."""
    answer = await deps.bank.transfer(request.order, request.send_until(deps.deadlines))
    return await _record(deps, request.firmbanking_request_id, answer)


async def _record(deps: Dependencies, firmbanking_request_id: str, answer: BankAnswer) -> FirmbankingRequest:
    async with deps.uow() as uow:
        # Another step may have settled it meanwhile: the locked row, not the caller's copy, is the truth.
        request = await uow.requests.lock(firmbanking_request_id)
        if request is None:
            raise FirmbankingRequestNotFound(firmbanking_request_id)
        request.apply(answer, deps.clock(), deps.deadlines)
        await uow.requests.save(request)
        await uow.commit()
    return request
