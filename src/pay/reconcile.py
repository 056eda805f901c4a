"""Conservation, checked across services (SPEC "Conservation").

What the corporate bank account received from members minus what it paid out must equal the money
in wallets (held amounts included), plus merchants' unsettled payables and the fees kept — once no
request is in flight. Every figure comes from the service that owns it, over its API.
"""

from dataclasses import dataclass

from pay.contracts.clients import BankClient, MoneyClient
from pay.contracts.money import FailedRefund, WalletDifference


@dataclass(frozen=True)
class Reconciliation:
    corporate_balance: int
    corporate_opening_balance: int
    wallets_total: int
    wallets_held: int
    wallet_count: int
    requests_in_flight: int
    journal_differences: list[WalletDifference]
    failed_refunds: list[FailedRefund]

    @property
    def corporate_net(self) -> int:
        return self.corporate_balance - self.corporate_opening_balance

    @property
    def gap(self) -> int:
        """Money the corporate account has that no wallet accounts for (negative: wallets hold more)."""
        return self.corporate_net - self.wallets_total

    @property
    def owed_by_failed_refunds(self) -> int:
        """Money in the corporate account that recharges owe members whose bank refused the refund."""
        return sum(refund.amount for refund in self.failed_refunds)

    @property
    def at_rest(self) -> bool:
        return self.requests_in_flight == 0

    @property
    def holds(self) -> bool:
        return self.gap == 0 and not self.journal_differences and not self.failed_refunds


async def reconcile(
    bank: BankClient, money: MoneyClient, corporate_bank: str, corporate_account: str, opening_balance: int
) -> Reconciliation:
    account = await bank.get_account(corporate_bank, corporate_account)
    summary = await money.summary()
    check = await money.rebuild_check()
    return Reconciliation(
        corporate_balance=account.balance,
        corporate_opening_balance=opening_balance,
        wallets_total=summary.total_balance,
        wallets_held=summary.total_held,
        wallet_count=summary.wallets,
        requests_in_flight=summary.pending_requests + summary.unfinished_sagas,
        journal_differences=check.differences,
        failed_refunds=await money.failed_refunds(),
    )
