"""The gateway's own settings (`PAY_*`), besides those every service shares."""

from pydantic import Field

from pay.platform.settings import Settings


class GatewaySettings(Settings):
    service: str = "gateway"
    # Request bodies of the platform are small JSON documents: the gateway refuses big ones before any service
    # reads them.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="Largest request body; a larger one is 413")
    login_attempts_per_minute: int = Field(
        default=10, ge=1, description="`POST /membership/login` calls a client (its address) may make per minute"
    )
    money_moving_calls_per_minute: int = Field(
        default=600,
        ge=1,
        description="Calls that move money (charge, withdraw, transfer, remit, pay, refund, settle) a client "
        "(its member, or its address when anonymous) may make per minute",
    )
    upstream_connect_timeout_seconds: float = Field(
        default=2.0, gt=0, description="How long connecting to a service may take"
    )
    upstream_timeout_seconds: float = Field(
        default=30.0, gt=0, description="How long a service may take to answer (live streams excepted)"
    )
