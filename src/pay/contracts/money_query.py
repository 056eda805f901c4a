"""Money-query's public API models (SPEC "Money query")."""

from datetime import datetime

from pydantic import ConfigDict, Field

from pay.contracts.messages import CamelModel


class RegionMoney(CamelModel):
    model_config = ConfigDict(extra="ignore")

    address: str
    money_sum: int = Field(description="What the members living at the address can spend, together")
    member_count: int
    as_of: datetime | None = Field(description="When the latest event the read model applied happened")


class QueryStatus(CamelModel):
    model_config = ConfigDict(extra="ignore")

    last_event_at: datetime | None = Field(description="When the latest event the read model applied happened")
    lag_seconds: float = Field(description="How long after it happened the latest event applied was applied")
    events_applied: int = Field(description="Events applied, each once whatever its deliveries")


class MemberMoneyView(CamelModel):
    model_config = ConfigDict(extra="ignore")

    address: str | None
    balance: int
    wallet_version: int


class ModelDifference(CamelModel):
    model_config = ConfigDict(extra="ignore")

    membership_id: str
    live: MemberMoneyView | None
    rebuilt: MemberMoneyView | None


class QueryRebuild(CamelModel):
    model_config = ConfigDict(extra="ignore")

    events_replayed: int
    members_rebuilt: int
    differences: list[ModelDifference] = Field(description="Members the live model disagrees on, or lags behind")
