"""Which broker a URL names, what settings refuse, and how a URL is printed."""

import pytest
from pydantic import ValidationError

from pay.platform.broker import redacted
from pay.platform.settings import Settings, broker_kind


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("nats://127.0.0.1:4222", "nats"),
        ("tls://nats.internal:4222", "nats"),
        ("amqp://guest:guest@127.0.0.1:5672/pay", "rabbitmq"),
        ("amqps://pay@rabbit.internal/pay", "rabbitmq"),
        ("kafka://k1:9092,k2:9092", "kafka"),
    ],
)
def test_the_scheme_names_the_broker(url: str, kind: str) -> None:
    assert broker_kind(url) == kind


def test_an_unknown_broker_is_refused_without_repeating_the_password() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(broker_url="redis://user:secret@127.0.0.1:6379", cache_url="redis://127.0.0.1:6379")
    assert "nats://, amqp://, amqps:// or kafka://" in str(refused.value)
    assert "secret" not in str(refused.value)


def test_rabbitmq_and_kafka_need_a_cache_elsewhere_and_nats_does_not() -> None:
    for url in ("amqp://guest:guest@127.0.0.1:5672/pay", "kafka://k1:9092"):
        with pytest.raises(ValidationError, match="PAY_CACHE_URL"):
            Settings(broker_url=url)
        assert Settings(broker_url=url, cache_url="redis://127.0.0.1:6379/0").cache_url
    assert Settings(broker_url="nats://127.0.0.1:4222").cache_url is None


def test_a_broker_url_is_printed_without_its_password() -> None:
    assert redacted("amqp://guest:guest@127.0.0.1:5672/pay") == "amqp://guest@127.0.0.1:5672/pay"
    assert redacted("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222"
