"""Money changing requests: what a member asked for, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class RequestNotFound(Exception):
    pass


class SameWallet(Exception):
    """A transfer needs two different wallets."""


class ChangeType(StrEnum):
    INCREASE = "INCREASE"
    DECREASE = "DECREASE"
    TRANSFER = "TRANSFER"


class ChangeStatus(StrEnum):
    REQUESTED = "REQUESTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


@dataclass
class MoneyChangingRequest:
    request_id: str
    change_type: ChangeType
    target_membership_id: str
    amount: int
    status: ChangeStatus
    created_at: datetime
    updated_at: datetime
    counterpart_membership_id: str | None = None
    reason: str | None = None

    @classmethod
    def new(
        cls,
        request_id: str,
        change_type: ChangeType,
        target: str,
        amount: int,
        now: datetime,
        counterpart: str | None = None,
    ) -> MoneyChangingRequest:
        return cls(request_id, change_type, target, amount, ChangeStatus.REQUESTED, now, now, counterpart)

    @property
    def is_final(self) -> bool:
        return self.status is not ChangeStatus.REQUESTED

    def end(self, failure: str | None, now: datetime) -> None:
        """SUCCEEDED without a failure, FAILED with one."""
        if failure is None:
            self.succeed(now)
        else:
            self.fail(failure, now)

    def succeed(self, now: datetime) -> None:
        self._finish(ChangeStatus.SUCCEEDED, None, now)

    def fail(self, reason: str, now: datetime) -> None:
        self._finish(ChangeStatus.FAILED, reason, now)

    def _finish(self, status: ChangeStatus, reason: str | None, now: datetime) -> None:
        if self.is_final:
            raise ValueError(f"request {self.request_id} already ended {self.status}")
        self.status, self.reason, self.updated_at = status, reason, now
