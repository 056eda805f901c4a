"""The other services franchise asks before it records a franchise: membership and banking."""

from pay.contracts.clients import BankingClient, MembershipClient, NotFound, Rejected, Unavailable
from pay.franchise.application.ports import DownstreamUnavailable
from pay.franchise.domain.model import BankAccount, BankAccountUnknown, Owner, OwnerNotFound


class MembershipOwners:
    def __init__(self, client: MembershipClient) -> None:
        self._client = client

    async def owner(self, membership_id: str) -> Owner:
        try:
            member = await self._client.get_member(membership_id)
        except NotFound as error:
            raise OwnerNotFound(membership_id) from error
        except Unavailable as error:
            raise DownstreamUnavailable(f"membership: {error}") from error
        return Owner(member.membership_id, member.is_valid, member.is_corp)


class BankingAccounts:
    def __init__(self, client: BankingClient) -> None:
        self._client = client

    async def ensure_usable(self, account: BankAccount) -> None:
        try:
            await self._client.bank_account(account.bank_name, account.account_number)
        except (NotFound, Rejected) as error:
            raise BankAccountUnknown(f"{account.bank_name} {account.account_number}") from error
        except Unavailable as error:
            raise DownstreamUnavailable(f"banking: {error}") from error
