"""A newcomer's first minutes: register, log in, look around, move money at the bank simulator."""

import uuid

import httpx
import pytest

from system import RunningSystem

pytestmark = pytest.mark.e2e


def test_every_service_is_ready_and_documented(system: RunningSystem, http: httpx.Client) -> None:
    for service in ("membership", "bank"):
        assert http.get(f"{system.url(service)}/health/ready").status_code == 200
        assert http.get(f"{system.url(service)}/openapi.json").status_code == 200
        assert "pay_http_requests_total" in http.get(f"{system.url(service)}/metrics").text


def test_a_member_registers_logs_in_and_reads_itself(system: RunningSystem, http: httpx.Client) -> None:
    membership = system.url("membership")
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    registered = http.post(
        f"{membership}/membership/register",
        json={"name": "홍길동", "email": email, "address": "강남구", "password": "hunter2-hunter2"},
    )
    assert registered.status_code == 201, registered.text
    tokens = http.post(f"{membership}/membership/login", json={"email": email, "password": "hunter2-hunter2"}).json()
    me = http.get(f"{membership}/membership/me", headers={"Authorization": f"Bearer {tokens['jwtToken']}"})
    assert me.json()["membershipId"] == registered.json()["membershipId"]
    refreshed = http.post(f"{membership}/membership/refresh-token", json={"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 200
    replayed = http.post(f"{membership}/membership/refresh-token", json={"refreshToken": tokens["refreshToken"]})
    assert replayed.status_code == 401 and replayed.json()["code"] == "invalid-refresh-token"


def test_the_admin_from_the_settings_can_log_in(system: RunningSystem, http: httpx.Client) -> None:
    response = http.post(
        f"{system.url('membership')}/membership/login",
        json={"email": "admin@pay.local", "password": "pay-admin-local"},
    )
    assert response.status_code == 200


def test_bad_input_gets_problem_json(system: RunningSystem, http: httpx.Client) -> None:
    response = http.post(f"{system.url('membership')}/membership/register", json={"name": "x"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "validation-error"
    assert http.get(f"{system.url('membership')}/membership/me").status_code == 401


def test_the_bank_simulator_moves_money_once_per_transfer_id(system: RunningSystem, http: httpx.Client) -> None:
    bank = system.url("bank")
    alice, bob = f"A-{uuid.uuid4().hex[:8]}", f"B-{uuid.uuid4().hex[:8]}"
    for number, balance in ((alice, 50_000), (bob, 0)):
        account = {"bankName": "KB", "bankAccountNumber": number, "holderName": number, "balance": balance}
        assert http.post(f"{bank}/bank/accounts", json=account).status_code == 201
    transfer = {
        "transferId": str(uuid.uuid4()),
        "fromBankName": "KB",
        "fromBankAccountNumber": alice,
        "toBankName": "KB",
        "toBankAccountNumber": bob,
        "amount": 20_000,
    }
    for _ in range(2):
        assert http.post(f"{bank}/bank/transfers", json=transfer).json()["status"] == "SUCCEEDED"
    assert http.get(f"{bank}/bank/accounts/KB/{alice}").json()["balance"] == 30_000
    assert http.get(f"{bank}/bank/accounts/KB/{bob}").json()["balance"] == 20_000
    assert http.get(f"{bank}/bank/transfers/{transfer['transferId']}").json()["status"] == "SUCCEEDED"
    overdraft = http.post(f"{bank}/bank/transfers", json=transfer | {"transferId": str(uuid.uuid4()), "amount": 10**9})
    assert overdraft.json()["status"] == "FAILED"
    corporate = http.get(f"{bank}/bank/accounts/PAYBANK/100-0000-0001")
    assert corporate.status_code == 200


def test_the_gateway_is_one_origin_for_the_services_and_hides_the_bank(
    system: RunningSystem, http: httpx.Client
) -> None:
    gateway = system.url("gateway")
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    registered = http.post(
        f"{gateway}/membership/register",
        json={"name": "홍길동", "email": email, "address": "강남구", "password": "hunter2-hunter2"},
        headers={"X-Request-ID": "walkthrough-gateway-1"},
    )
    assert registered.status_code == 201, registered.text
    assert registered.headers["x-request-id"] == "walkthrough-gateway-1"
    member = registered.json()["membershipId"]
    tokens = http.post(f"{gateway}/membership/login", json={"email": email, "password": "hunter2-hunter2"}).json()
    headers = {"Authorization": f"Bearer {tokens['jwtToken']}"}

    assert http.get(f"{gateway}/membership/me", headers=headers).json()["membershipId"] == member
    assert http.get(f"{gateway}/money/query/status", headers=headers).status_code == 200
    assert http.get(f"{gateway}/notifications", headers=headers).status_code == 200
    hidden = http.get(f"{gateway}/bank/accounts")
    assert hidden.status_code == 404 and hidden.json()["code"] == "not-found"
