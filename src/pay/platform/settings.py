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

    service: str = Field(default="", description="Which service this process is; each service's settings name it")
    data_dir: Path = Field(default=Path(".pay"), description="Where keys, databases, broker state and logs live")
    host: str = Field(default="127.0.0.1", description="The address services listen on")
    port_offset: int = Field(default=0, description="Added to every service's default port")
    database_url: str = Field(
        default="", description="This service's own PostgreSQL database (`postgresql+asyncpg://…`)"
    )
    broker_url: str = Field(default="", description="The NATS server with JetStream (`nats://…`)")
    database_pool_size: int = Field(default=20, ge=1, le=200, description="Database connections one process keeps")
    log_level: str = Field(
        default="INFO", description="The least severe log event written: DEBUG, INFO, WARNING, ERROR"
    )
    workers: int = Field(default=1, ge=1, le=16, description="Processes serving this service's port")
    handlers_at_once: int = Field(
        default=16, ge=1, le=256, description="Messages of one consumer this process handles at the same time"
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest request body accepted; a larger one is 413"
    )

    # The platform's signing key pair: services verify with the public key; the private one signs.
    jwt_private_key: SecretStr | None = Field(
        default=None, description="PEM of the Ed25519 signing key; unset, `keys/jwt-private.pem` in the data directory"
    )
    jwt_public_key: str | None = Field(
        default=None, description="PEM of the Ed25519 verifying key; unset, `keys/jwt-public.pem` in the data directory"
    )
    service_token: SecretStr | None = Field(default=None, description="This service's credential for other services")

    # The platform's own account at the bank, which every flow that reaches a bank moves money through.
    corporate_bank_name: str = Field(
        default="PAYBANK", min_length=1, max_length=50, description="The bank of the platform's corporate account"
    )
    corporate_bank_account_number: str = Field(
        default="100-0000-0001", pattern=r"^[0-9A-Za-z-]{1,40}$", description="The corporate account's number"
    )
    # The bank seeds the account with it; reconciliation counts from it.
    corporate_seed_balance: int = Field(default=0, ge=0, description="What the corporate account holds when created")

    cache_url: str | None = Field(
        default=None,
        description="`redis://…`: a Redis for caches; unset, caches are JetStream key-value buckets on the broker",
        pattern=r"^rediss?://",
    )

    http_timeout_seconds: float = Field(default=5.0, gt=0, description="Longest one call to another service may take")
    service_urls: dict[str, str] = Field(
        default_factory=dict,
        description="JSON of base URLs by service, for services not on 127.0.0.1 at their default port",
    )

    @cached_property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    def port_of(self, service: str) -> int:
        return DEFAULT_PORTS[service] + self.port_offset

    def url_of(self, service: str) -> str:
        """Base URL of another service: `PAY_SERVICE_URLS='{"bank": "..."}'` overrides the local default."""
        return self.service_urls.get(service) or f"http://127.0.0.1:{self.port_of(service)}"
