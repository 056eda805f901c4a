"""The other services franchise asks before it records a franchise (membership and banking), and merchants' webhook
receivers, which it posts deliveries to."""

import asyncio
import socket
import time

import httpx

from pay.contracts.clients import BankingClient, MembershipClient, NotFound, Rejected, Unavailable
from pay.franchise.application.ports import DownstreamUnavailable, Sent
from pay.franchise.domain.model import BankAccount, BankAccountUnknown, Owner, OwnerNotFound
from pay.franchise.domain.webhooks import SIGNATURE_HEADER, address_allowed


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


class AddressRefused(Exception):
    """The webhook's host resolves to an address the platform does not send to."""


class HttpWebhookSender:
    """Posts a delivery to a merchant's receiver: to the address its host resolved to and was checked at (so that
    a name cannot be made to lead inside between the check and the call), with explicit timeouts and a bound on
    the whole try, without following redirects and without reading the answer's body."""

    def __init__(self, timeout_seconds: float, *, loopback_allowed: bool) -> None:
        self._timeout = timeout_seconds
        self._loopback_allowed = loopback_allowed
        # No connection is kept for another try: it is known by the address only, and two merchants' hosts may share
        # one address, each with its own name for TLS.
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds),
            limits=httpx.Limits(max_keepalive_connections=0),
            follow_redirects=False,
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, url: str, body: bytes, signature: str) -> Sent:
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout):
                given = httpx.URL(url)
                target = await self._pinned(given)
                headers = {
                    "host": given.netloc.decode(),
                    "content-type": "application/json",
                    "user-agent": "Pay-Webhooks/1",
                    SIGNATURE_HEADER: signature,
                }
                # TLS is spoken with the name the merchant gave, whose certificate is checked, at the checked address.
                extensions = {"sni_hostname": given.host} if given.scheme == "https" else {}
                async with self._client.stream(
                    "POST", target, content=body, headers=headers, extensions=extensions
                ) as answer:
                    return Sent(answer.status_code, None, _elapsed_ms(started))
        except TimeoutError:
            return Sent(None, f"no answer within {self._timeout:g} s", _elapsed_ms(started))
        except AddressRefused as error:
            return Sent(None, str(error), _elapsed_ms(started))
        except (httpx.HTTPError, OSError) as error:
            return Sent(None, f"{type(error).__name__}: {error}"[:300], _elapsed_ms(started))

    async def _pinned(self, url: httpx.URL) -> httpx.URL:
        """The URL with its host replaced by an address it resolves to, once every such address is checked."""
        port = url.port or (443 if url.scheme == "https" else 80)
        found = await asyncio.get_running_loop().getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
        addresses = [str(info[4][0]) for info in found]
        refused = [
            address for address in addresses if not address_allowed(address, loopback_allowed=self._loopback_allowed)
        ]
        if not addresses or refused:
            raise AddressRefused(f"{url.host} resolves to an address webhooks are not sent to")
        return url.copy_with(host=addresses[0])


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
