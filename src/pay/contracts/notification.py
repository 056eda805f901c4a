"""Notification's public API models (SPEC "Notifications and webhooks")."""

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from pay.contracts.messages import CamelModel


class Notification(CamelModel):
    """One entry of a member's feed; on the stream, the data of an event whose id is `eventId`."""

    model_config = ConfigDict(extra="ignore")

    event_id: int = Field(description="1, 2, 3 … in the member's feed: the stream's event id (Last-Event-ID)")
    membership_id: str
    kind: str = Field(description="What happened, e.g. `recharge.succeeded`, `transfer.received`, `payment.failed`")
    text: str = Field(description="What happened, in words")
    data: dict[str, Any] = Field(description="The facts: ids, amounts, reasons")
    occurred_at: datetime = Field(description="When it happened")
    created_at: datetime = Field(description="When the feed took it")


class NotificationPage(CamelModel):
    model_config = ConfigDict(extra="ignore")

    items: list[Notification] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass it back as `cursor` for the next page; null on the last")


class StreamTicket(CamelModel):
    model_config = ConfigDict(extra="ignore")

    ticket: str = Field(description="Opens `GET /notifications/stream?ticket=…` once, for the member it was issued to")
    expires_at: datetime
