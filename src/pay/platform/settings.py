"""The settings every service shares, from `PAY_*` environment variables.

Each service declares its own options in a subclass beside its `app.py` (`pay/<service>/settings.py`);
this class names none of them.

Every setting `PAY_X` may instead be read from a file named by `PAY_X_FILE`, the way Docker Compose and
Kubernetes hand secrets to a container: the secret stays out of the environment, where any process of the
container and `docker inspect` can read it.
"""

import os
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from pay.contracts.topology import DEFAULT_PORTS

FILE_SUFFIX = "_FILE"

BrokerKind = Literal["nats", "rabbitmq", "kafka"]
_BROKER_SCHEMES: dict[str, BrokerKind] = {
    "nats": "nats",
    "tls": "nats",
    "amqp": "rabbitmq",
    "amqps": "rabbitmq",
    "kafka": "kafka",
}


def broker_kind(url: str) -> BrokerKind:
    """Which broker a `PAY_BROKER_URL` names, by its scheme."""
    scheme, separator, _ = url.partition("://")
    if not separator or scheme not in _BROKER_SCHEMES:
        # Only the scheme is repeated: the rest of the URL may hold a password.
        raise ValueError(f"a broker URL starts with nats://, amqp://, amqps:// or kafka://, not {scheme[:10]!r}")
    return _BROKER_SCHEMES[scheme]


class SettingsFromFiles(PydanticBaseSettingsSource):
    """`PAY_X_FILE=/run/secrets/x`: the setting `PAY_X` is that file's text, less its trailing newlines (as a
    shell's `$(cat file)` gives it). Setting both `PAY_X` and `PAY_X_FILE` is refused: neither may win unseen."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        variable = f"{self.config.get('env_prefix', '')}{field_name}".upper()
        path = os.environ.get(variable + FILE_SUFFIX)
        if path is None:
            return None, field_name, False
        if variable in os.environ:
            raise SettingsError(f"both {variable} and {variable}{FILE_SUFFIX} are set: give one of them")
        try:
            return Path(path).read_text().rstrip("\r\n"), field_name, False
        except OSError as error:
            raise SettingsError(f"{variable}{FILE_SUFFIX}: cannot read {path}: {error.strerror}") from error

    def __call__(self) -> dict[str, Any]:
        values = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, is_complex = self.get_field_value(field, name)
            if value is not None:
                values[key] = self.prepare_field_value(name, field, value, is_complex)
        return values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAY_", extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, SettingsFromFiles(settings_cls), dotenv_settings, file_secret_settings

    service: str = Field(default="", description="Which service this process is; each service's settings name it")
    data_dir: Path = Field(default=Path(".pay"), description="Where keys, databases, broker state and logs live")
    host: str = Field(default="127.0.0.1", description="The address services listen on")
    port_offset: int = Field(default=0, description="Added to every service's default port")
    database_url: str = Field(
        default="", description="This service's own PostgreSQL database (`postgresql+asyncpg://…`)"
    )
    broker_url: str = Field(
        default="",
        description="The broker: NATS with JetStream (`nats://…`), RabbitMQ (`amqp://…`) or Kafka (`kafka://host:port,…`)",
    )
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
        description="`redis://…`: a Redis for caches, needed on RabbitMQ and Kafka; unset, caches are NATS key-value "
        "buckets",
        pattern=r"^rediss?://",
    )

    http_timeout_seconds: float = Field(default=5.0, gt=0, description="Longest one call to another service may take")
    service_urls: dict[str, str] = Field(
        default_factory=dict,
        description="JSON of base URLs by service, for services not on 127.0.0.1 at their default port",
    )

    @model_validator(mode="after")
    def _caches_have_a_home(self) -> Self:
        if self.broker_url and broker_kind(self.broker_url) != "nats" and self.cache_url is None:
            raise ValueError(
                "RabbitMQ and Kafka keep no key-value buckets for caches: give PAY_CACHE_URL=redis://… as well"
            )
        return self

    @cached_property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    def port_of(self, service: str) -> int:
        return DEFAULT_PORTS[service] + self.port_offset

    def url_of(self, service: str) -> str:
        """Base URL of another service: `PAY_SERVICE_URLS='{"bank": "..."}'` overrides the local default."""
        return self.service_urls.get(service) or f"http://127.0.0.1:{self.port_of(service)}"
