"""Members are told what happened to their money, live: a stream opened with a ticket delivers recharges,
transfers and remittances as they end; a notification service killed meanwhile is restarted by `pay up` and
catches up from the broker, and a stream resumed with Last-Event-ID gets what it missed, once."""

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

from e2e_support import member_with_bank_account, until, wallet_of

from system import RunningSystem

Event = tuple[int, str, dict[str, Any]]


def events(response: httpx.Response) -> Iterator[Event]:
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line.startswith(":"):
            continue
        if line:
            name, _, value = line.partition(": ")
            fields[name] = value
        elif "id" in fields:
            yield int(fields["id"]), fields["event"], json.loads(fields["data"])
            fields = {}
        else:
            fields = {}


def next_events(stream: Iterator[Event], count: int) -> list[Event]:
    return [next(stream) for _ in range(count)]


def ticket(system: RunningSystem, http: httpx.Client, member: dict[str, Any]) -> str:
    issued = http.post(f"{system.url('notification')}/notifications/ticket", headers=member["headers"])
    assert issued.status_code == 201, issued.text
    return str(issued.json()["ticket"])


def feed(system: RunningSystem, http: httpx.Client, member: dict[str, Any]) -> list[dict[str, Any]]:
    response = http.get(f"{system.url('notification')}/notifications", headers=member["headers"])
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_a_members_stream_tells_it_what_happened_and_resumes_after_a_crash(
    system: RunningSystem, http: httpx.Client
) -> None:
    money, notification = system.url("money"), system.url("notification")
    alice = member_with_bank_account(system, http, 100_000)
    bob = member_with_bank_account(system, http, 0)
    assert wallet_of(system, http, alice)["balance"] == wallet_of(system, http, bob)["balance"] == 0
    stream_of_bob = http.stream(
        "GET", f"{notification}/notifications/stream", params={"ticket": ticket(system, http, bob)}, timeout=30
    )

    with (
        http.stream(
            "GET", f"{notification}/notifications/stream", params={"ticket": ticket(system, http, alice)}, timeout=30
        ) as alices,
        stream_of_bob as bobs,
    ):
        assert alices.status_code == bobs.status_code == 200
        alice_events, bob_events = events(alices), events(bobs)
        recharge = {"targetMembershipId": alice["id"], "amount": 60_000}
        assert http.post(f"{money}/money/increase", json=recharge, headers=alice["headers"]).json()["status"] == (
            "SUCCEEDED"
        )
        [(_, kind, recharged)] = next_events(alice_events, 1)
        assert (kind, recharged["data"]["amount"]) == ("recharge.succeeded", 60_000)
        too_much = {"targetMembershipId": alice["id"], "amount": 50_000}
        assert http.post(f"{money}/money/increase", json=too_much, headers=alice["headers"]).json()["status"] == (
            "FAILED"
        )
        assert next_events(alice_events, 1)[0][1] == "recharge.failed"

        sent = time.monotonic()
        transfer = {"fromMembershipId": alice["id"], "toMembershipId": bob["id"], "amount": 25_000}
        assert http.post(f"{money}/money/transfer", json=transfer, headers=alice["headers"]).status_code == 200
        [(_, kind, received)] = next_events(bob_events, 1)
        assert time.monotonic() - sent < 2.0
        assert (kind, received["data"]["amount"], received["data"]["fromMembershipId"]) == (
            "transfer.received",
            25_000,
            alice["id"],
        )

        remittance = {
            "fromMembershipId": alice["id"],
            "toMembershipId": bob["id"],
            "remittanceType": "MEMBERSHIP",
            "amount": 5_000,
        }
        answered = http.post(
            f"{system.url('remittance')}/remittance/request",
            json=remittance,
            headers=alice["headers"] | {"Idempotency-Key": str(uuid.uuid4())},
        )
        assert answered.status_code in (200, 201, 202), answered.text
        assert next_events(alice_events, 1)[0][1] == "remittance.succeeded"
        [(last_seen, kind, _)] = next_events(bob_events, 1)
        assert kind == "transfer.received"

    killed = system.service_process("notification")
    assert killed is not None
    killed.kill()
    transfer = {"fromMembershipId": alice["id"], "toMembershipId": bob["id"], "amount": 1_000}
    assert http.post(f"{money}/money/transfer", json=transfer, headers=alice["headers"]).status_code == 200
    until(lambda: b"notification is back on port" in system.output.read_bytes(), "notification restarted")

    def resumed() -> bool:
        response = http.get(f"{notification}/health/ready")
        return response.status_code == 200

    until(resumed, "notification ready")
    # A message the broker handed to the killed process's last pull comes back after the consumers' ack wait
    # (60 s): late, never lost.
    until(lambda: len(feed(system, http, bob)) == 3, "the transfer made while notification was down", 120)
    with http.stream(
        "GET", f"{notification}/notifications/stream", headers=bob["headers"] | {"Last-Event-ID": str(last_seen)}
    ) as bobs:
        [(event_id, kind, missed)] = next_events(events(bobs), 1)
    assert (event_id, kind, missed["data"]["amount"]) == (last_seen + 1, "transfer.received", 1_000)
    kinds = [item["kind"] for item in feed(system, http, bob)]
    assert kinds == ["transfer.received"] * 3, "each once, newest first"
