"""Franchise's own settings (`PAY_*`), besides those every service shares."""

from pydantic import Field

from pay.platform.settings import Settings


class FranchiseSettings(Settings):
    service: str = "franchise"
    webhooks_to_loopback: bool = Field(
        default=True,
        description="Development: webhooks may go to this machine (http://127.0.0.1, localhost), as `pay up` runs "
        "them. Set false in production: webhooks then go over https to public addresses only",
    )
    webhook_secret_key: str | None = Field(
        default=None,
        description="base64 of the 32-byte key that seals webhook secrets at rest; unset, generated into the data dir",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, description="Longest one webhook try may take: connect, send and hear the answer"
    )
    webhook_tries_at_once: int = Field(
        default=64, ge=1, le=1024, description="Webhook tries this process sends at the same time"
    )
    webhook_retry_first_seconds: float = Field(
        default=10.0, gt=0, description="Pause after a webhook try that failed; it doubles with each failure"
    )
    webhook_retry_max_seconds: float = Field(default=3600.0, gt=0, description="Longest pause between two tries")
