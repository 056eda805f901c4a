"""The other services payment asks before it records a payment: membership, franchise, banking and money."""

from pay.contracts.clients import (
    BankingClient,
    FranchiseClient,
    MembershipClient,
    MoneyClient,
    NotFound,
    Rejected,
    Unavailable,
)
from pay.payment.application.ports import DownstreamUnavailable, FranchiseFacts
from pay.payment.domain.model import BankAccount, FranchiseNotFound, NoLinkedAccount, PayerInvalid, PayerNotFound


class MembershipMembers:
    def __init__(self, client: MembershipClient) -> None:
        self._client = client

    async def ensure_valid(self, membership_id: str) -> None:
        try:
            member = await self._client.get_member(membership_id)
        except NotFound as error:
            raise PayerNotFound(membership_id) from error
        except Unavailable as error:
            raise DownstreamUnavailable(f"membership: {error}") from error
        if not member.is_valid:
            raise PayerInvalid(membership_id)


class FranchiseDirectory:
    def __init__(self, client: FranchiseClient) -> None:
        self._client = client

    async def get(self, franchise_id: str) -> FranchiseFacts:
        try:
            franchise = await self._client.get_franchise(franchise_id)
        except (NotFound, Rejected) as error:
            raise FranchiseNotFound(franchise_id) from error
        except Unavailable as error:
            raise DownstreamUnavailable(f"franchise: {error}") from error
        return FranchiseFacts(
            franchise_id=franchise.franchise_id,
            owner_membership_id=franchise.owner_membership_id,
            is_valid=franchise.is_valid,
            fee_rate=franchise.fee_rate,
        )


class BankingLinkedAccounts:
    def __init__(self, client: BankingClient) -> None:
        self._client = client

    async def of(self, membership_id: str) -> BankAccount:
        try:
            account = await self._client.linked_account(membership_id)
        except NotFound as error:
            raise NoLinkedAccount(membership_id) from error
        except Unavailable as error:
            raise DownstreamUnavailable(f"banking: {error}") from error
        if not account.linked_status_is_valid:
            raise NoLinkedAccount(membership_id)
        return BankAccount(account.bank_name, account.bank_account_number)


class MoneyWallets:
    def __init__(self, client: MoneyClient) -> None:
        self._client = client

    async def available(self, membership_id: str) -> int:
        try:
            return (await self._client.wallet(membership_id)).balance
        except NotFound as error:
            raise PayerNotFound(membership_id) from error
        except Unavailable as error:
            raise DownstreamUnavailable(f"money: {error}") from error
