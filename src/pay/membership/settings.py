"""Membership's own settings (`PAY_*`), besides those every service shares."""

from pydantic import Field, SecretStr

from pay.platform.settings import Settings


class MembershipSettings(Settings):
    service: str = "membership"
    access_token_ttl_seconds: int = Field(default=15 * 60, gt=0)
    refresh_token_ttl_seconds: int = Field(default=14 * 24 * 3600, gt=0)
    email_encryption_key: str | None = Field(default=None, description="base64 of 32 bytes")
    email_index_key: str | None = Field(default=None, description="base64 of 32 bytes")
    admin_email: str = "admin@pay.local"
    admin_password: SecretStr = SecretStr("pay-admin-local")
