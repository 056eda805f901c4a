"""The envelope every event and command on the broker shares.

A message's subject names its type and schema version (`pay.events.<service>.<name>.v<n>`), so a
consumer subscribes to exactly the versions it understands.
"""

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    """JSON in camelCase, Python in snake_case; unknown fields rejected on input."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Message(CamelModel):
    model_config = ConfigDict(extra="ignore")
    subject: ClassVar[str]

    message_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = None

    def to_payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_payload(cls, payload: dict[str, Any] | bytes) -> Self:
        if isinstance(payload, bytes):
            return cls.model_validate_json(payload)
        return cls.model_validate(payload)


STREAM_NAME = "PAY"
STREAM_SUBJECTS = ["pay.events.>", "pay.commands.>"]
LOG_SUBJECT = "pay.logging.out.stdout"
