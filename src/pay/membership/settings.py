"""Membership's own settings (`PAY_*`), besides those every service shares."""

from pydantic import Field, SecretStr

from pay.platform.settings import Settings


class MembershipSettings(Settings):
    service: str = "membership"
    access_token_ttl_seconds: int = Field(default=15 * 60, gt=0, description="How long an access token is good for")
    refresh_token_ttl_seconds: int = Field(
        default=14 * 24 * 3600, gt=0, description="How long a refresh token is good for, if not used first"
    )
    email_encryption_key: str | None = Field(
        default=None,
        description="base64 of the 32-byte key that seals emails; unset, `keys/membership-email.key`",
    )
    email_index_key: str | None = Field(
        default=None,
        description="base64 of the 32-byte key of the email lookup index; unset, `keys/membership-email-index.key`",
    )
    admin_email: str = Field(default="admin@pay.local", description="The admin member, created at start-up")
    admin_password: SecretStr = Field(
        default=SecretStr("pay-admin-local"), description="The admin's password; a new one ends its open sessions"
    )
