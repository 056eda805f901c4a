"""Merchant webhooks' rules: the signature a receiver checks, the URLs the platform sends to, and a delivery tried
with exponential backoff for a day."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from pay.franchise.domain.webhooks import (
    RETRY_WINDOW,
    Attempt,
    Delivery,
    DeliveryStatus,
    WebhookUrlRefused,
    address_allowed,
    ensure_webhook_url,
    new_secret,
    signature,
)
from pay.platform.retry import RetryPolicy

NOW = datetime(2026, 12, 2, tzinfo=UTC)
LEASE = timedelta(seconds=30)
RETRY = RetryPolicy(first_delay=timedelta(seconds=10), max_delay=timedelta(hours=1))


def test_the_signature_is_the_hex_hmac_sha256_of_the_timestamp_a_dot_and_the_body() -> None:
    secret, body = "whsec_test", b'{"id":"e1"}'
    expected = hmac.new(b"whsec_test", b'1700000000.{"id":"e1"}', hashlib.sha256).hexdigest()
    assert signature(secret, 1_700_000_000, body) == f"t=1700000000,v1={expected}"
    assert signature(secret, 1_700_000_001, body) != signature(secret, 1_700_000_000, body)
    assert signature("whsec_other", 1_700_000_000, body) != signature(secret, 1_700_000_000, body)


def test_the_receiver_check_in_the_readme_accepts_a_signature_and_refuses_a_changed_body() -> None:
    def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
        fields = dict(part.split("=", 1) for part in header.split(","))
        signed = f"{fields['t']}.".encode() + body
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, fields["v1"]) and abs(now - int(fields["t"])) <= tolerance

    header = signature("whsec_x", 1_700_000_000, b"{}")
    assert verify("whsec_x", header, b"{}", 1_700_000_100)
    assert not verify("whsec_x", header, b"{ }", 1_700_000_100)
    assert not verify("whsec_x", header, b"{}", 1_700_001_000)


def test_each_secret_is_new_and_long() -> None:
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    assert all(secret.startswith("whsec_") and len(secret) >= 40 for secret in secrets)


@pytest.mark.parametrize(
    "url",
    ["https://shop.example/hooks", "https://shop.example:8443/hooks?x=1", "https://93.184.216.34/hooks"],
)
def test_https_to_a_public_host_is_always_fine(url: str) -> None:
    assert ensure_webhook_url(url, loopback_allowed=False) == url
    assert ensure_webhook_url(url, loopback_allowed=True) == url


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9000/hooks", "http://localhost:9000/hooks", "https://localhost/hooks", "http://[::1]:80/"]
)
def test_this_machine_only_in_development(url: str) -> None:
    assert ensure_webhook_url(url, loopback_allowed=True) == url
    with pytest.raises(WebhookUrlRefused):
        ensure_webhook_url(url, loopback_allowed=False)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://shop.example/hooks",
        "http://shop.example/hooks",  # another machine over plain http
        "https://user:pass@shop.example/hooks",
        "https://user@shop.example/hooks",
        "https://10.0.0.5/hooks",
        "https://192.168.1.1/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/hooks",
        "https://[::ffff:10.0.0.1]/hooks",
        "https://0.0.0.0/hooks",
        "https://intranet/hooks",
        "https://shop.example:0/hooks",
        "https://shop.example:99999/hooks",
        "https:///hooks",
    ],
)
def test_anything_else_is_refused_even_in_development(url: str) -> None:
    with pytest.raises(WebhookUrlRefused):
        ensure_webhook_url(url, loopback_allowed=True)


def test_a_resolved_address_must_be_public_or_in_development_this_machine() -> None:
    assert address_allowed("93.184.216.34", loopback_allowed=False)
    assert not address_allowed("127.0.0.1", loopback_allowed=False)
    assert address_allowed("127.0.0.1", loopback_allowed=True)
    assert address_allowed("::1", loopback_allowed=True)
    for inside in ("10.1.2.3", "172.16.0.1", "192.168.0.1", "169.254.169.254", "::ffff:10.0.0.1", "fe80::1", "0.0.0.0"):
        assert not address_allowed(inside, loopback_allowed=True), inside


def delivery() -> Delivery:
    return Delivery.of_event("d1", "f1", "e1", "payment.approved", b"{}", NOW)


def failed(number: int, at: datetime, status_code: int | None = 500) -> Attempt:
    return Attempt(number, at, status_code, None if status_code else "timed out", 12)


def test_a_delivery_is_due_at_once_and_a_2xx_ends_it() -> None:
    sent = delivery()
    assert sent.is_due(NOW)
    call = sent.send(NOW, LEASE)
    assert not sent.is_due(NOW + LEASE - timedelta(seconds=1)) and sent.is_due(NOW + LEASE)
    sent.sent(Attempt(call.number, NOW, 204, None, 5), NOW, RETRY)
    assert (sent.status, sent.wake_at, len(sent.attempts)) == (DeliveryStatus.DELIVERED, None, 1)


def test_failures_are_tried_again_with_doubling_pauses_up_to_the_cap_until_a_day_has_passed() -> None:
    sent, now, pauses = delivery(), NOW, []
    while not sent.is_finished:
        call = sent.send(now, LEASE)
        sent.sent(failed(call.number, now, 500 if call.number % 2 else None), now, RETRY)
        if sent.wake_at is not None:
            pauses.append(sent.wake_at - now)
            now = sent.wake_at
    assert pauses[:4] == [timedelta(seconds=s) for s in (10, 20, 40, 80)]
    assert max(pauses) == timedelta(hours=1)
    assert sent.status is DeliveryStatus.GAVE_UP
    assert NOW + RETRY_WINDOW - timedelta(hours=1) <= now <= NOW + RETRY_WINDOW
    assert len(sent.attempts) == sent.tries > 25


def test_the_outcome_of_a_try_another_took_over_from_is_logged_but_decides_nothing() -> None:
    sent = delivery()
    late = sent.send(NOW, LEASE)
    later = sent.send(NOW + LEASE, LEASE)
    sent.sent(Attempt(late.number, NOW, 200, None, 40_000), NOW + LEASE, RETRY)
    assert sent.status is DeliveryStatus.PENDING and len(sent.attempts) == 1
    sent.sent(failed(later.number, NOW + LEASE), NOW + LEASE, RETRY)
    assert sent.status is DeliveryStatus.PENDING and sent.wake_at == NOW + LEASE + timedelta(seconds=10)


def test_a_redelivery_sends_again_at_once_with_a_new_day_whatever_became_of_it() -> None:
    sent, now = delivery(), NOW
    for _ in range(3):
        call = sent.send(now, LEASE)
        sent.sent(failed(call.number, now), now, RETRY)
        now = sent.wake_at or now
    sent.status, sent.wake_at = DeliveryStatus.GAVE_UP, None
    later = NOW + timedelta(days=2)
    sent.redeliver(later)
    assert (sent.status, sent.wake_at, sent.deadline) == (DeliveryStatus.PENDING, later, later + RETRY_WINDOW)
    call = sent.send(later, LEASE)
    sent.sent(failed(call.number, later), later, RETRY)
    assert sent.wake_at == later + timedelta(seconds=10)  # the backoff starts again
    call = sent.send(later, LEASE)
    sent.sent(Attempt(call.number, later, 200, None, 3), later, RETRY)
    assert sent.status is DeliveryStatus.DELIVERED and len(sent.attempts) == 5
