"""People using a running system, as the end-to-end tests play them: members with a linked bank account, and
what they and the bank see."""

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from system import RunningSystem

T = TypeVar("T")

PASSWORD = "hunter2-hunter2"


def member_with_bank_account(
    system: RunningSystem, http: httpx.Client, bank_balance: int, address: str = "강남구"
) -> dict[str, Any]:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    registered = http.post(
        f"{system.url('membership')}/membership/register",
        json={"name": "Kim", "email": email, "address": address, "password": PASSWORD},
    ).json()
    token = http.post(
        f"{system.url('membership')}/membership/login", json={"email": email, "password": PASSWORD}
    ).json()["jwtToken"]
    account = f"E2E-{uuid.uuid4().hex[:10]}"
    opened = http.post(
        f"{system.url('bank')}/bank/accounts",
        json={"bankName": "KB", "bankAccountNumber": account, "holderName": "Kim", "balance": bank_balance},
    )
    assert opened.status_code == 201
    headers = {"Authorization": f"Bearer {token}"}
    linked = http.post(
        f"{system.url('banking')}/banking/account/register",
        json={"membershipId": registered["membershipId"], "bankName": "KB", "bankAccountNumber": account},
        headers=headers,
    )
    assert linked.status_code == 201, linked.text
    return {"id": registered["membershipId"], "headers": headers, "account": account, "address": address}


def wallet_of(system: RunningSystem, http: httpx.Client, member: dict[str, Any]) -> dict[str, Any]:
    # Money opens the wallet when it hears of the registration: seconds on a loaded machine.
    for _ in range(300):
        response = http.get(f"{system.url('money')}/money/{member['id']}", headers=member["headers"])
        if response.status_code == 200:
            return dict(response.json())
        time.sleep(0.1)
    raise AssertionError(f"no wallet for {member['id']}: {response.text}")


def bank_balance(system: RunningSystem, http: httpx.Client, account: str) -> int:
    return int(http.get(f"{system.url('bank')}/bank/accounts/KB/{account}").json()["balance"])


def until(condition: Callable[[], T], what: str, seconds: float = 60) -> T:
    """What `condition` gives once it is true, asked every 0.2 s for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.2)
    return found
