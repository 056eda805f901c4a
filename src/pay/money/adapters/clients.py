"""Money's view of banking: the member's linked account, over banking's HTTP API."""

from pay.contracts.clients import BankingClient, NotFound, Rejected, Unavailable
from pay.money.application.ports import BankingUnavailable, LinkedAccountUnusable
from pay.money.domain.sagas import BankAccount


class HttpBanking:
    def __init__(self, client: BankingClient) -> None:
        self._client = client

    async def linked_account(self, membership_id: str) -> BankAccount:
        try:
            account = await self._client.linked_account(membership_id)
        except NotFound as error:
            raise LinkedAccountUnusable("no-linked-account") from error
        except (Unavailable, Rejected) as error:
            raise BankingUnavailable(str(error)) from error
        if not account.linked_status_is_valid:
            raise LinkedAccountUnusable("linked-account-invalid")
        return BankAccount(account.bank_name, account.bank_account_number)
