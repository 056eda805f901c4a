"""The other services remittance asks before it records a remittance: membership, banking and money."""

from pay.contracts.clients import BankingClient, MembershipClient, MoneyClient, NotFound, Rejected, Unavailable
from pay.remittance.application.ports import DownstreamUnavailable
from pay.remittance.domain.model import BankAccountUnknown, BankTarget, SenderNotFound


class MembershipMembers:
    def __init__(self, client: MembershipClient) -> None:
        self._client = client

    async def ensure_valid(self, membership_id: str, *, missing: type[Exception], invalid: type[Exception]) -> None:
        try:
            member = await self._client.get_member(membership_id)
        except NotFound as error:
            raise missing(membership_id) from error
        except Unavailable as error:
            raise DownstreamUnavailable(f"membership: {error}") from error
        if not member.is_valid:
            raise invalid(membership_id)


class BankingAccounts:
    def __init__(self, client: BankingClient) -> None:
        self._client = client

    async def ensure_usable(self, target: BankTarget) -> None:
        try:
            await self._client.bank_account(target.bank_name, target.account_number)
        except (NotFound, Rejected) as error:
            raise BankAccountUnknown(f"{target.bank_name} {target.account_number}") from error
        except Unavailable as error:
            raise DownstreamUnavailable(f"banking: {error}") from error


class MoneyWallets:
    def __init__(self, client: MoneyClient) -> None:
        self._client = client

    async def available(self, membership_id: str) -> int:
        try:
            return (await self._client.wallet(membership_id)).balance
        except NotFound as error:
            raise SenderNotFound(membership_id) from error
        except Unavailable as error:
            raise DownstreamUnavailable(f"money: {error}") from error
