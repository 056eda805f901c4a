"""Settings every service reads from `PAY_*` environment variables."""

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from pay.contracts.topology import DEFAULT_PORTS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAY_", extra="ignore")

    service: str = ""
    data_dir: Path = Path(".pay")
    host: str = "127.0.0.1"
    port_offset: int = 0
    database_url: str = ""
    broker_url: str = ""
    database_pool_size: int = Field(default=20, ge=1, le=200)
    log_level: str = "INFO"
    workers: int = Field(default=1, ge=1, le=16, description="Processes serving this service's port")

    jwt_private_key: SecretStr | None = None
    jwt_public_key: str | None = None
    service_token: SecretStr | None = None
    access_token_ttl_seconds: int = Field(default=15 * 60, gt=0)
    refresh_token_ttl_seconds: int = Field(default=14 * 24 * 3600, gt=0)
    email_encryption_key: str | None = Field(default=None, description="base64 of 32 bytes")
    email_index_key: str | None = Field(default=None, description="base64 of 32 bytes")
    admin_email: str = "admin@pay.local"
    admin_password: SecretStr = SecretStr("pay-admin-local")

    corporate_bank_name: str = Field(default="PAYBANK", min_length=1, max_length=50)
    corporate_bank_account_number: str = Field(default="100-0000-0001", pattern=r"^[0-9A-Za-z-]{1,40}$")
    corporate_seed_balance: int = Field(default=0, ge=0)

    money_wait_seconds: float = Field(default=5.0, ge=0, description="How long /money/increase waits")
    wallet_balance_limit: int = Field(default=10**13, gt=0, description="The most one wallet may hold, in won")
    process_retry_first_seconds: float = Field(default=1.0, gt=0)
    process_retry_max_seconds: float = Field(default=30.0, gt=0)
    account_check_deadline_seconds: float = Field(default=30.0, gt=0)

    bank_timeout_seconds: float = Field(default=2.0, gt=0, description="Longest one call to the bank may take")
    bank_attempts: int = Field(default=3, ge=1, le=10)
    bank_breaker_threshold: int = Field(default=5, ge=1, description="Failed calls in a row that open the circuit")
    bank_breaker_reset_seconds: float = Field(default=15.0, gt=0)
    firmbanking_send_window_seconds: float = Field(
        default=120.0, gt=0, description="How long an unanswered transfer may be sent to the bank again"
    )
    firmbanking_not_received_grace_seconds: float = Field(
        default=60.0, gt=0, description="After the window, how long before 'never received' becomes FAILED"
    )

    http_timeout_seconds: float = Field(default=5.0, gt=0)
    service_urls: dict[str, str] = Field(default_factory=dict)

    @cached_property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    def port_of(self, service: str) -> int:
        return DEFAULT_PORTS[service] + self.port_offset

    def url_of(self, service: str) -> str:
        """Base URL of another service: `PAY_SERVICE_URLS='{"bank": "..."}'` overrides the local default."""
        return self.service_urls.get(service) or f"http://127.0.0.1:{self.port_of(service)}"
