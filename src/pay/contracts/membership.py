"""Membership's public API models and events."""

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from pay.contracts.messages import CamelModel, Message
from pay.contracts.types import NO_CONTROL_CHARACTERS, Flag, Identifier, Name

Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=3,
        max_length=254,
        pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$",
    ),
]
Address = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_CONTROL_CHARACTERS)
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class RegisterMemberRequest(CamelModel):
    name: Name
    email: Email
    address: Address
    password: Password
    is_corp: Flag = False


class ModifyMemberRequest(CamelModel):
    membership_id: Identifier
    name: Name
    email: Email
    address: Address
    is_valid: Flag
    is_corp: Flag


class Member(CamelModel):
    model_config = ConfigDict(extra="ignore")

    membership_id: str
    name: str
    email: str
    address: str
    is_valid: bool
    is_corp: bool
    created_at: datetime
    updated_at: datetime


class MemberPage(CamelModel):
    items: list[Member]
    next_cursor: str | None = Field(description="Pass it back as `cursor` for the next page; null on the last")


class LoginRequest(CamelModel):
    email: Annotated[str, StringConstraints(min_length=1, max_length=254, pattern=NO_CONTROL_CHARACTERS)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class TokenPair(CamelModel):
    model_config = ConfigDict(extra="ignore")

    membership_id: str
    jwt_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="Seconds until the access token expires")


class RefreshTokenRequest(CamelModel):
    refresh_token: Token


class TokenValidateRequest(CamelModel):
    jwt_token: Token


class TokenValidation(CamelModel):
    model_config = ConfigDict(extra="ignore")

    valid: bool
    membership_id: str | None = None


class MembershipRegistered(Message):
    subject = "pay.events.membership.registered.v1"

    membership_id: str
    address: str
    is_valid: bool
    is_corp: bool


class MembershipModified(Message):
    subject = "pay.events.membership.modified.v1"

    membership_id: str
    old_address: str
    new_address: str
    is_valid: bool
    is_corp: bool
