"""Notification's own settings (`PAY_*`), besides those every service shares."""

from pydantic import Field

from pay.platform.settings import Settings


class NotificationSettings(Settings):
    service: str = "notification"
    # Events delivered together are recorded in one transaction, so the more of them in flight, the fewer
    # transactions a burst costs (as money-query's, ADR 29).
    handlers_at_once: int = Field(
        default=256, ge=1, le=256, description="Messages of one consumer this process handles at the same time"
    )
    alert_webhook_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Where operators are told of failed payments, remittances, recharges, withdrawals and payouts "
        '(Slack-compatible `{"text": …}`); unset, nobody is',
    )
    alerts_per_minute: int = Field(
        default=10, ge=1, le=1000, description="Alerts posted in one minute at most; the rest are summed up in one"
    )
    feed_retention_hours: int = Field(
        default=72, ge=24, le=24 * 365, description="How long a member's feed keeps an entry (Last-Event-ID resumes)"
    )
    stream_heartbeat_seconds: float = Field(
        default=15.0, gt=0, le=300, description="A comment line this often keeps proxies from closing an idle stream"
    )
    ticket_seconds: int = Field(
        default=30, ge=1, le=300, description="How long a ticket for `GET /notifications/stream?ticket=` is good for"
    )
