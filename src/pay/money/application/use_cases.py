"""The money operations, one function each."""

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from pay.money.application.ports import (
    Banking,
    BankingUnavailable,
    BankLegPage,
    Clock,
    EndWatch,
    FailedRefundPage,
    HistoryPage,
    JournalBalance,
    LinkedAccountUnusable,
    OptimisticConcurrencyConflict,
    PriorAnswer,
    RequestKey,
    UnitOfWork,
)
from pay.money.application.transfers import TransferDesk, TransferOrder
from pay.money.domain.accounts import Entry, Payable, into_payable, out_of_payable, settle
from pay.money.domain.members import RecipientDeactivated, ensure_may_move_money, ensure_may_receive_money
from pay.money.domain.requests import (
    BankLeg,
    BankTransferReused,
    ChangeType,
    MoneyChangingRequest,
    RequestNotFound,
    SameWallet,
)
from pay.money.domain.sagas import (
    AccountCheck,
    BankAccount,
    Effects,
    MoneySaga,
    RechargeSaga,
    SagaTiming,
    WithdrawalSaga,
)
from pay.money.domain.wallet import (
    BalanceLimitExceeded,
    HoldNotFound,
    InsufficientBalance,
    Wallet,
    WalletNotFound,
)
from pay.money.domain.wallet import transfer as transfer_between

_log = logging.getLogger(__name__)

ANSWER_CONSUMER = "money-firmbanking-answers"
REGISTRATION_CONSUMER = "money-registrations"
MEMBERSHIP_CONSUMER = "money-membership-changes"
LEDGER_CONSUMER = "money-ledger-commands"

# Why a ledger transaction moved nothing, as its answer says.
LEDGER_REFUSALS: Mapping[type[Exception], str] = {
    WalletNotFound: "wallet-not-found",
    InsufficientBalance: "insufficient-balance",
    BalanceLimitExceeded: "balance-limit-exceeded",
    HoldNotFound: "hold-not-found",
    RecipientDeactivated: "recipient-deactivated",
    SameWallet: "same-wallet",
    BankTransferReused: "bank-transfer-reused",
}


@dataclass(frozen=True)
class Dependencies:
    uow: Callable[[], UnitOfWork]
    banking: Banking
    clock: Clock
    corporate_account: BankAccount
    balance_limit: int
    transfers: TransferDesk
    timing: SagaTiming
    watch: EndWatch
    answer_within_seconds: float = 5.0
    wake_sagas: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class LedgerOrder:
    """A ledger command of another service's saga. `transaction_id` is chosen by the saga and names the
    transaction once and for all; `counterpart` is the wallet a transfer credits, `hold` the hold (by its
    transaction id) that a capture or release ends, `bank_transfer` the firm banking transfer that moved the
    money into or out of the corporate account, `franchise` the franchise whose payable it moves. A
    settlement's `amount` is all it takes from the payable, `fee` the part that goes to revenue."""

    transaction_id: str
    kind: ChangeType
    membership_id: str | None
    amount: int = 0
    counterpart: str | None = None
    hold: str | None = None
    bank_transfer: str | None = None
    franchise: str | None = None
    fee: int = 0


@dataclass(frozen=True)
class RebuildDifference:
    membership_id: str
    stored: tuple[int, int, int]
    rebuilt: tuple[int, int, int]


@dataclass(frozen=True)
class MoneySummary:
    wallets: int
    total_balance: int
    total_held: int
    pending_requests: int
    unfinished_sagas: int
    total_payables: int
    revenue: int


async def open_wallet(deps: Dependencies, membership_id: str) -> Wallet:
    wallet = Wallet.open(membership_id, deps.clock())
    async with deps.uow() as uow:
        await uow.wallets.add(wallet)
        await uow.commit()
    return wallet


async def open_wallet_on_registration(deps: Dependencies, message_id: str, membership_id: str) -> None:
    async with deps.uow() as uow:
        if (
            await uow.inbox.first_delivery(REGISTRATION_CONSUMER, message_id)
            and await uow.wallets.get(membership_id) is None
        ):
            await uow.wallets.add(Wallet.open(membership_id, deps.clock()))
        await uow.commit()


async def membership_modified(
    deps: Dependencies, message_id: str, membership_id: str, is_valid: bool, as_of: datetime
) -> None:
    """Membership changed a member: money keeps whether it may still move money, once per event, and
    only when no later change was recorded already."""
    async with deps.uow() as uow:
        if await uow.inbox.first_delivery(MEMBERSHIP_CONSUMER, message_id):
            await uow.members.record(membership_id, is_valid, as_of)
        await uow.commit()


async def get_wallet(deps: Dependencies, membership_id: str) -> Wallet:
    async with deps.uow() as uow:
        wallet = await uow.wallets.get(membership_id)
    if wallet is None:
        raise WalletNotFound(membership_id)
    return wallet


async def balances(deps: Dependencies, membership_ids: Sequence[str]) -> Mapping[str, int]:
    async with deps.uow() as uow:
        return await uow.wallets.balances(membership_ids)


async def history(
    deps: Dependencies,
    membership_id: str,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> HistoryPage:
    async with deps.uow() as uow:
        if await uow.wallets.get(membership_id) is None:
            raise WalletNotFound(membership_id)
        return await uow.wallets.history(membership_id, since, until, cursor, limit)


async def get_request(deps: Dependencies, request_id: str) -> MoneyChangingRequest:
    async with deps.uow() as uow:
        request = await uow.requests.get(request_id)
    if request is None:
        raise RequestNotFound(request_id)
    return request


async def transfer(
    deps: Dependencies,
    source: str,
    target: str,
    amount: int,
    key: RequestKey | None = None,
    acting_member: str | None = None,
) -> MoneyChangingRequest | PriorAnswer:
    """Both wallets change in one transaction, or neither does; a key used before gets its earlier answer.
    `acting_member` is the member acting on its own wallet (None for an admin or a service): refused, as is
    a transfer to a deactivated member, when membership deactivated it."""
    if source == target:
        raise SameWallet()
    return await deps.transfers.submit(TransferOrder(source, target, amount, key, acting_member))


async def start_recharge(
    deps: Dependencies,
    membership_id: str,
    amount: int,
    key: RequestKey | None = None,
    acting_member: str | None = None,
) -> MoneyChangingRequest | PriorAnswer:
    """Record the request and its saga; the saga then charges the member's bank account. A key used
    before gets its earlier answer and starts nothing; a deactivated acting member is refused."""
    return await _start(deps, RechargeSaga, ChangeType.INCREASE, membership_id, amount, key, acting_member)


async def start_withdrawal(
    deps: Dependencies,
    membership_id: str,
    amount: int,
    key: RequestKey | None = None,
    acting_member: str | None = None,
) -> MoneyChangingRequest | PriorAnswer:
    """Record the request and its saga, which holds the amount in the wallet and pays it out to the bank
    account. A key used before gets its earlier answer and starts nothing; a deactivated acting member is
    refused."""
    return await _start(deps, WithdrawalSaga, ChangeType.DECREASE, membership_id, amount, key, acting_member)


async def _start(
    deps: Dependencies,
    saga_type: type[MoneySaga],
    change: ChangeType,
    membership_id: str,
    amount: int,
    key: RequestKey | None,
    acting_member: str | None,
) -> MoneyChangingRequest | PriorAnswer:
    try:
        started = await _start_once(deps, saga_type, change, membership_id, amount, key, acting_member)
    except OptimisticConcurrencyConflict:
        # Only a request with the same key, stored meanwhile, refuses the write: now its answer is found.
        started = await _start_once(deps, saga_type, change, membership_id, amount, key, acting_member)
    if isinstance(started, MoneyChangingRequest):
        deps.wake_sagas()
    return started


async def _start_once(
    deps: Dependencies,
    saga_type: type[MoneySaga],
    change: ChangeType,
    membership_id: str,
    amount: int,
    key: RequestKey | None,
    acting_member: str | None,
) -> MoneyChangingRequest | PriorAnswer:
    """One transaction: the request, its saga, what it does to the wallet, and its key with its answer."""
    now = deps.clock()
    request = MoneyChangingRequest.new(str(uuid.uuid4()), change, membership_id, amount, now)
    saga, effects = saga_type.start(request.request_id, membership_id, amount, deps.corporate_account, now)
    async with deps.uow() as uow:
        if key is not None and (earlier := (await uow.earlier_answers([key]))[0]) is not None:
            if isinstance(earlier, Exception):
                raise earlier
            return earlier
        if acting_member is not None:
            # Refused for who the member is, not for what its wallet holds: its key stays unused.
            ensure_may_move_money(acting_member, await uow.members.deactivated_among([acting_member]))
        wallet = (await uow.wallets.lock([membership_id])).get(membership_id)
        try:
            if wallet is None:
                raise WalletNotFound(membership_id)
            for effect in effects:
                effect.apply_to(wallet, request.request_id, now, deps.balance_limit)
        except (WalletNotFound, InsufficientBalance) as refusal:
            if key is not None:
                # Refused by the wallet's rules: the same request is refused again, so its key keeps the refusal.
                await uow.keep_answers([(key, refusal)])
                await uow.commit()
            raise
        if wallet.changes:
            await uow.wallets.save(wallet)
        await uow.requests.add(request)
        await uow.sagas.add(saga)
        if key is not None:
            await uow.keep_answers([(key, request)])
        await uow.commit()
    return request


async def wait_for_request(deps: Dependencies, started: MoneyChangingRequest, seconds: float) -> MoneyChangingRequest:
    """The request once it has ended, or as it stands when `seconds` have passed."""
    return await deps.watch.until_ended(
        started.request_id, partial(get_request, deps, started.request_id), _has_ended, started, seconds
    )


def _has_ended(request: MoneyChangingRequest) -> bool:
    return request.is_final


async def apply_ledger_order(deps: Dependencies, message_id: str, order: LedgerOrder, answer_to: str | None) -> None:
    """Once per message, and once per ledger transaction however often it is re-sent. The saga that sent
    it (`answer_to`) is answered, in the transaction that applies it, with how it ended; a recharge is
    answered when its own saga ends. A re-sent order is answered again and moves nothing more; an order
    whose transaction id names another movement is refused."""
    recharging = False
    async with deps.uow() as uow:
        if not await uow.inbox.first_delivery(LEDGER_CONSUMER, message_id):
            return
        earlier = await uow.requests.get(order.transaction_id, for_update=True)
        if earlier is not None:
            if earlier.is_named_by(
                order.kind, order.membership_id, order.counterpart, order.amount or None, order.franchise
            ):
                earlier.answer_again(answer_to)
            else:
                earlier.answer_reuse(answer_to)
            await uow.requests.save(earlier)
        else:
            request = await _apply_order(deps, uow, order, answer_to)
            recharging = not request.is_final
        await uow.commit()
    if recharging:
        deps.wake_sagas()


async def _apply_order(
    deps: Dependencies, uow: UnitOfWork, order: LedgerOrder, answer_to: str | None
) -> MoneyChangingRequest:
    now = deps.clock()
    request = MoneyChangingRequest.new(
        order.transaction_id,
        order.kind,
        order.membership_id,
        order.amount,
        now,
        order.counterpart,
        answer_to,
        order.franchise,
    )
    try:
        if order.counterpart is not None and order.counterpart == order.membership_id:
            raise SameWallet()
        owners = [owner for owner in (order.membership_id, order.counterpart) if owner is not None]
        wallets = await uow.wallets.lock(owners) if owners else {}
        if missing := [owner for owner in owners if owner not in wallets]:
            raise WalletNotFound(missing[0])
        if order.counterpart is not None:
            ensure_may_receive_money(order.counterpart, await uow.members.deactivated_among([order.counterpart]))
        if order.kind is not ChangeType.INCREASE:
            _move(order, request, wallets, now, deps.balance_limit)
        entries = _account_entries(order)
        leg = _bank_leg(order, request)
        if leg is not None and not await uow.bank_legs.add(leg):
            raise BankTransferReused(leg.transfer_id)
    except tuple(LEDGER_REFUSALS) as refusal:
        request.fail(LEDGER_REFUSALS[type(refusal)], now)
        await uow.requests.add(request)
        return request
    if order.kind is ChangeType.INCREASE:
        assert order.membership_id is not None
        saga, _ = RechargeSaga.start(request.request_id, order.membership_id, order.amount, deps.corporate_account, now)
        await uow.sagas.add(saga)
    else:
        await uow.wallets.save(*(wallet for wallet in wallets.values() if wallet.changes))
        await uow.accounts.append(request.request_id, entries, now)
        request.succeed(now)
    await uow.requests.add(request)
    return request


def _move(
    order: LedgerOrder, request: MoneyChangingRequest, wallets: Mapping[str, Wallet], now: datetime, limit: int
) -> None:
    """What the order does to its wallets; raises a refusal, before changing anything, when it cannot."""
    if order.membership_id is None:
        return
    wallet = wallets[order.membership_id]
    match order.kind:
        case ChangeType.TRANSFER:
            assert order.counterpart is not None
            transfer_between(wallet, wallets[order.counterpart], order.amount, order.transaction_id, now, limit)
        case ChangeType.HOLD:
            wallet.hold(order.amount, order.transaction_id, now)
        case ChangeType.CAPTURE | ChangeType.RELEASE:
            assert order.hold is not None
            request.amount = wallet.held_for(order.hold)
            if order.kind is ChangeType.CAPTURE:
                wallet.capture_hold(order.hold, now)
            else:
                wallet.release_hold(order.hold, now)
        case ChangeType.PAYMENT:
            wallet.debit(order.amount, order.transaction_id, now)
        case ChangeType.REFUND:
            wallet.credit(order.amount, order.transaction_id, now, limit)


def _account_entries(order: LedgerOrder) -> list[Entry]:
    """What the order does to payables and revenue."""
    if order.franchise is None:
        return []
    match order.kind:
        case ChangeType.PAYMENT | ChangeType.PAYABLE_CREDIT:
            return [into_payable(order.franchise, order.amount)]
        case ChangeType.REFUND:
            return [out_of_payable(order.franchise, order.amount)]
        case ChangeType.SETTLEMENT:
            return settle(order.franchise, order.fee, order.amount - order.fee)
    raise ValueError(f"a {order.kind} names no franchise")


def _bank_leg(order: LedgerOrder, request: MoneyChangingRequest) -> BankLeg | None:
    """The corporate account's side of the firm banking transfer the order names: money it received for a
    payable, or paid out for a capture, a refund or a settlement's payout."""
    if order.bank_transfer is None:
        return None
    match order.kind:
        case ChangeType.PAYABLE_CREDIT:
            amount = order.amount
        case ChangeType.CAPTURE | ChangeType.REFUND:
            amount = -request.amount
        case ChangeType.SETTLEMENT:
            amount = -(order.amount - order.fee)
        case _:
            raise ValueError(f"a {order.kind} moves no money at the bank")
    return BankLeg(order.bank_transfer, request.request_id, amount)


async def advance_saga(deps: Dependencies, saga_id: str) -> None:
    """The saga's timer is due: it asks banking again for its transfer, or has the member's account looked up."""
    async with deps.uow() as uow:
        now = deps.clock()
        saga = await uow.sagas.lock(saga_id, skip_locked=True)
        if saga is None or not saga.is_due(now):
            return
        check = saga.wake(now, deps.timing)
        await uow.sagas.save(saga)
        await uow.commit()
    if check is not None:
        await _check_account(deps, saga_id, check)


async def _check_account(deps: Dependencies, saga_id: str, check: AccountCheck) -> None:
    """Ask banking for the member's account with the saga unlocked (its lease keeps others away), then
    record the answer if the saga still waits for it."""
    answer: BankAccount | LinkedAccountUnusable | BankingUnavailable
    try:
        answer = await deps.banking.linked_account(check.membership_id)
    except (LinkedAccountUnusable, BankingUnavailable) as error:
        answer = error
    ended: str | None = None
    async with deps.uow() as uow:
        saga = await uow.sagas.lock(saga_id)
        if saga is None or not saga.checks_account(check.attempt):
            return
        now = deps.clock()
        match answer:
            case BankAccount():
                effects = saga.account_found(answer, now, deps.timing)
            case LinkedAccountUnusable():
                effects = saga.account_unusable(str(answer) or "no-linked-account")
            case BankingUnavailable():
                effects = saga.banking_unreachable(now, deps.timing)
        ended = await _carry_out(deps, uow, saga, effects, now)
        await uow.commit()
    if ended:
        deps.watch.ended(ended)


async def bank_transfer_answered(
    deps: Dependencies, message_id: str, saga_id: str, transfer_id: str, failure: str | None
) -> None:
    """Banking's answer to a transfer a saga asked for; `failure` is None when the money moved."""
    ended: str | None = None
    async with deps.uow() as uow:
        if not await uow.inbox.first_delivery(ANSWER_CONSUMER, message_id):
            return
        saga = await uow.sagas.lock(saga_id)
        if saga is not None and saga.awaits(transfer_id):
            now = deps.clock()
            if failure is None:
                await uow.bank_legs.add(saga.bank_leg())
                effects = saga.transfer_succeeded(transfer_id)
            else:
                effects = saga.transfer_failed(transfer_id, failure, now, deps.timing)
            ended = await _carry_out(deps, uow, saga, effects, now)
        await uow.commit()
    if ended:
        deps.watch.ended(ended)


async def _carry_out(
    deps: Dependencies, uow: UnitOfWork, saga: MoneySaga, effects: Effects, now: datetime
) -> str | None:
    """Apply what a step of the saga does to the wallet, store the saga, and end its request when the saga
    has ended; the request id if it did."""
    if effects:
        wallet = (await uow.wallets.lock([saga.membership_id])).get(saga.membership_id)
        try:
            if wallet is None:
                raise WalletNotFound(saga.membership_id)
            for effect in effects:
                effect.apply_to(wallet, saga.request_id, now, deps.balance_limit)
        except (BalanceLimitExceeded, WalletNotFound) as refusal:
            saga.effects_refused(_reason(refusal), now, deps.timing)
        else:
            saga.effects_applied()
            await uow.wallets.save(wallet)
    await uow.sagas.save(saga)
    if not saga.is_finished:
        return None
    request = await uow.requests.get(saga.request_id, for_update=True)
    assert request is not None, f"saga {saga.saga_id} without its request"
    request.end(saga.failure, now)
    await uow.requests.save(request)
    return request.request_id


def _reason(refusal: Exception) -> str:
    return {BalanceLimitExceeded: "balance-limit-exceeded", WalletNotFound: "wallet-not-found"}[type(refusal)]


async def bank_legs(deps: Dependencies, cursor: str | None, limit: int) -> BankLegPage:
    """The firm banking transfers of the corporate account the ledger accounts for, by transfer id."""
    async with deps.uow() as uow:
        return await uow.bank_legs.page(cursor, limit)


async def failed_refunds(deps: Dependencies, cursor: str | None, limit: int) -> FailedRefundPage:
    """Recharges whose refund the member's bank kept refusing: their money sits in the corporate account."""
    async with deps.uow() as uow:
        return await uow.sagas.failed_refunds(cursor, limit)


@dataclass(frozen=True)
class RebuildReport:
    wallets_checked: int
    differences: Sequence[RebuildDifference]
    journal: JournalBalance


# Unbalanced ledger transactions named in a report; the count says how many there are in all.
_UNBALANCED_SHOWN = 100


async def rebuild_check(deps: Dependencies) -> RebuildReport:
    """Recompute every wallet from its journal and report where the stored balance differs; payables and
    revenue have no stored balance (they are the sum of their journal), so what is checked for them is that
    every ledger transaction balances: what it did to wallets, payables and revenue is what it moved at the
    bank."""
    differences = []
    async with deps.uow() as uow:
        membership_ids = await uow.wallets.membership_ids()
    for membership_id in membership_ids:
        async with deps.uow() as uow:
            stored = (await uow.wallets.lock([membership_id]))[membership_id]
            rebuilt = Wallet.replay(membership_id, await uow.wallets.journal(membership_id))
        stored_state = (stored.balance, stored.held, stored.version)
        rebuilt_state = (rebuilt.balance, rebuilt.held, rebuilt.version)
        if stored_state != rebuilt_state:
            differences.append(RebuildDifference(membership_id, stored_state, rebuilt_state))
    async with deps.uow() as uow:
        journal = await uow.journal.balance(_UNBALANCED_SHOWN)
    return RebuildReport(len(membership_ids), differences, journal)


async def summary(deps: Dependencies) -> MoneySummary:
    async with deps.uow() as uow:
        wallets, total_balance, total_held = await uow.wallets.totals()
        total_payables, revenue = await uow.accounts.totals()
        return MoneySummary(
            wallets,
            total_balance,
            total_held,
            await uow.requests.count_pending(),
            await uow.sagas.count_unfinished(),
            total_payables,
            revenue,
        )


async def payable(deps: Dependencies, franchise_id: str) -> Payable:
    async with deps.uow() as uow:
        return await uow.accounts.payable(franchise_id)
