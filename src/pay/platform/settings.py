"""The settings every service shares, from `PAY_*` environment variables.

Each service declares its own options in a subclass beside its `app.py` (`pay/<service>/settings.py`);
this class names none of them.
"""

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
    handlers_at_once: int = Field(
        default=16, ge=1, le=256, description="Messages of one consumer this process handles at the same time"
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest request body accepted; a larger one is 413"
    )

    # The platform's signing key pair: services verify with the public key; the private one signs.
    jwt_private_key: SecretStr | None = None
    jwt_public_key: str | None = None
    service_token: SecretStr | None = Field(default=None, description="This service's credential for other services")

    # The platform's own account at the bank, which every flow that reaches a bank moves money through.
    corporate_bank_name: str = Field(default="PAYBANK", min_length=1, max_length=50)
    corporate_bank_account_number: str = Field(default="100-0000-0001", pattern=r"^[0-9A-Za-z-]{1,40}$")
    # The bank seeds the account with it; reconciliation counts from it.
    corporate_seed_balance: int = Field(default=0, ge=0, description="What the corporate account holds when created")

    cache_url: str | None = Field(
        default=None,
        description="`redis://…`: a Redis for caches; unset, caches are JetStream key-value buckets on the broker",
        pattern=r"^rediss?://",
    )

    http_timeout_seconds: float = Field(default=5.0, gt=0, description="Longest one call to another service may take")
    service_urls: dict[str, str] = Field(default_factory=dict)

    @cached_property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    def port_of(self, service: str) -> int:
        return DEFAULT_PORTS[service] + self.port_offset

    def url_of(self, service: str) -> str:
        """Base URL of another service: `PAY_SERVICE_URLS='{"bank": "..."}'` overrides the local default."""
        return self.service_urls.get(service) or f"http://127.0.0.1:{self.port_of(service)}"
