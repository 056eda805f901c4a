"""Conservation, checked across services (SPEC "Conservation").

What the corporate bank account received minus what it paid out must equal the money in wallets (held
amounts included), plus what franchises' payables hold (negative where a franchise owes) and the fees
kept as revenue — once no request is in flight. And each transfer on the corporate account's statement
at the bank must pair with the bank leg the ledger recorded for it, for the same amount, and each bank
leg with a transfer: where the totals break, the pairing says which transfer. Every figure comes from
the service that owns it, over its API.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from pay.contracts.bank import StatementLine
from pay.contracts.clients import BankClient, MoneyClient, PaymentClient, RemittanceClient, SettlementClient
from pay.contracts.money import BankLeg, FailedRefund, MoneySummary, WalletDifference
from pay.platform.settings import Settings

# Money rebuilds every wallet from its journal to answer, which takes longer than any other call.
_MONEY_TIMEOUT_SECONDS = 120
_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class UnpairedTransfer:
    """A transfer the bank and the ledger disagree on: `None` where one of them does not know it."""

    transfer_id: str
    at_the_bank: int | None
    in_the_ledger: int | None
    request_id: str | None

    def __str__(self) -> str:
        transfer = f"transfer {self.transfer_id}"
        if self.in_the_ledger is None:
            return f"{transfer} moved {self.at_the_bank:+,} won at the bank; the ledger has no leg for it"
        ledger = f"request {self.request_id} has it move {self.in_the_ledger:+,} won"
        if self.at_the_bank is None:
            return f"{transfer}: the bank never moved it, but {ledger}"
        return f"{transfer} moved {self.at_the_bank:+,} won at the bank, but {ledger}"


def pair(statement: Sequence[StatementLine], legs: Sequence[BankLeg]) -> list[UnpairedTransfer]:
    """The transfers on which the corporate account's statement and the ledger's bank legs differ."""
    at_the_bank = {line.transfer_id: line.amount for line in statement}
    in_the_ledger = {leg.transfer_id: leg for leg in legs}
    unpaired = []
    for transfer_id in sorted(at_the_bank.keys() | in_the_ledger.keys()):
        leg = in_the_ledger.get(transfer_id)
        ledger_amount = leg.amount if leg is not None else None
        if at_the_bank.get(transfer_id) != ledger_amount:
            request_id = leg.money_changing_request_id if leg is not None else None
            unpaired.append(UnpairedTransfer(transfer_id, at_the_bank.get(transfer_id), ledger_amount, request_id))
    return unpaired


@dataclass(frozen=True)
class Reconciliation:
    corporate_balance: int
    corporate_opening_balance: int
    wallets_total: int
    wallets_held: int
    wallet_count: int
    payables_total: int
    revenue: int
    requests_in_flight: int
    bank_transfers: int
    unpaired_transfers: list[UnpairedTransfer]
    journal_differences: list[WalletDifference]
    failed_refunds: list[FailedRefund]

    @property
    def corporate_net(self) -> int:
        return self.corporate_balance - self.corporate_opening_balance

    @property
    def owed(self) -> int:
        """What the ledger says the platform holds: members' wallets, franchises' payables, its revenue."""
        return self.wallets_total + self.payables_total + self.revenue

    @property
    def gap(self) -> int:
        """Money the corporate account has that the ledger does not account for (negative: the ledger says more)."""
        return self.corporate_net - self.owed

    @property
    def owed_by_failed_refunds(self) -> int:
        """Money in the corporate account that recharges owe members whose bank refused the refund."""
        return sum(refund.amount for refund in self.failed_refunds)

    @property
    def at_rest(self) -> bool:
        return self.requests_in_flight == 0

    @property
    def holds(self) -> bool:
        return (
            self.gap == 0 and not self.unpaired_transfers and not self.journal_differences and not self.failed_refunds
        )


@dataclass(frozen=True)
class Services:
    """The services whose figures reconcile reads."""

    bank: BankClient
    money: MoneyClient
    remittance: RemittanceClient
    payment: PaymentClient
    settlement: SettlementClient


async def in_flight(services: Services, money: MoneySummary) -> int:
    """Requests and sagas whose money may still be moving, in every service that moves it."""
    remittances = await services.remittance.summary()
    payments = await services.payment.summary()
    settlements = await services.settlement.summary()
    return (
        money.pending_requests
        + money.unfinished_sagas
        + remittances.unfinished_sagas
        + payments.unfinished_sagas
        + settlements.running_settlements
        + settlements.pending_lines
    )


async def reconcile(
    services: Services, corporate_bank: str, corporate_account: str, opening_balance: int
) -> Reconciliation:
    bank, money = services.bank, services.money
    summary = await money.summary()
    requests_in_flight = await in_flight(services, summary)
    account = await bank.get_account(corporate_bank, corporate_account)
    statement = await bank.statement(corporate_bank, corporate_account)
    legs = await money.bank_legs()
    check = await money.rebuild_check()
    return Reconciliation(
        corporate_balance=account.balance,
        corporate_opening_balance=opening_balance,
        wallets_total=summary.total_balance,
        wallets_held=summary.total_held,
        wallet_count=summary.wallets,
        payables_total=summary.total_payables,
        revenue=summary.revenue,
        requests_in_flight=requests_in_flight,
        bank_transfers=len(statement),
        unpaired_transfers=pair(statement, legs),
        journal_differences=check.differences,
        failed_refunds=await money.failed_refunds(),
    )


async def reconcile_platform(settings: Settings, token: str) -> Reconciliation:
    """Conservation across the running platform, each figure read from its service at the address `settings`
    gives, with `token` (an admin's or a service's: the services decide what it may read)."""
    async with (
        BankClient(settings.url_of("bank"), timeout=_TIMEOUT_SECONDS) as bank,
        MoneyClient(settings.url_of("money"), token=token, timeout=_MONEY_TIMEOUT_SECONDS) as money,
        RemittanceClient(settings.url_of("remittance"), token=token, timeout=_TIMEOUT_SECONDS) as remittance,
        PaymentClient(settings.url_of("payment"), token=token, timeout=_TIMEOUT_SECONDS) as payment,
        SettlementClient(settings.url_of("settlement"), token=token, timeout=_TIMEOUT_SECONDS) as settlement,
    ):
        return await reconcile(
            Services(bank, money, remittance, payment, settlement),
            settings.corporate_bank_name,
            settings.corporate_bank_account_number,
            settings.corporate_seed_balance,
        )
