"""Field types shared by every public API."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, StringConstraints, WithJsonSchema

MAX_AMOUNT = 1_000_000_000_000

# Strict: JSON floats, strings and booleans are refused rather than coerced; money is whole won.
Amount = Annotated[int, Field(strict=True, ge=1, le=MAX_AMOUNT, description="Whole won, 1 to 10^12")]
Balance = Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT * 1000, description="Whole won")]
# Strict: only JSON true and false; 0, 1 and "true" are refused rather than coerced.
Flag = Annotated[bool, Field(strict=True)]
# No control characters (\x00-\x1f, \x7f) in text a person gives: PostgreSQL text cannot hold NUL, and a
# line break or escape in a name or address would reach logs, events and other services' screens.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_CONTROL_CHARACTERS)
]
# Ids and bank names are segments of URLs too: no `/`, which would split one, and no control characters
# (PostgreSQL text cannot hold NUL, and one such id must not fail a whole group of writes).
URL_SEGMENT = r"^[^\x00-\x1f\x7f/]+$"
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=URL_SEGMENT)]
BankName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=URL_SEGMENT)]
BankAccountNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[0-9A-Za-z-]+$")
]
# As open banking APIs issue them: 24 digits.
FintechUseNum = Annotated[str, StringConstraints(pattern=r"^[0-9]{24}$")]
# Not stripped, unlike other identifiers: a transfer id must reach the bank and come back exactly as sent.
TransferId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=URL_SEGMENT)]

_RFC_3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:[Zz]|[+-]\d{2}:\d{2})")


def _rfc_3339(value: object) -> object:
    # Pydantic would also read a bare number as seconds since 1970, or a date without its time or offset.
    if isinstance(value, str) and not _RFC_3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time with its offset, such as 2026-12-02T09:00:00Z")
    return value


def _in_utc(value: datetime) -> datetime:
    # `0001-01-01T00:00:00+01:00` is written well but falls before year 1 in UTC, where it is stored and compared.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must fall within years 1 to 9999 in UTC") from None


# A moment as a client writes it: an RFC 3339 date-time, offset included (in a query, `+` is written `%2B`).
Instant = Annotated[datetime, BeforeValidator(_rfc_3339), AfterValidator(_in_utc)]


# A fee rate is a decimal percent written as a string ("3.5"): a JSON number would reach Python as a binary
# float, which cannot hold most decimals exactly. The pattern is its syntax; the bounds are checked on the value.
MAX_FEE_RATE = Decimal(20)
_FEE_RATE_SYNTAX = r"^[0-9]{1,2}(\.[0-9]{1,2})?$"


def _fee_rate_text(value: object) -> object:
    # A Decimal comes from this service's own code (a franchise it read); a client sends only JSON.
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str) or not re.fullmatch(_FEE_RATE_SYNTAX, value):
        raise ValueError('must be a string of a decimal percent with at most 2 decimals, such as "3.5"')
    return Decimal(value)


def _plain_fee_rate(value: Decimal) -> str:
    """Without the trailing zeros a NUMERIC column adds: "3.5", not "3.50"; "20", not "2E+1"."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


FeeRate = Annotated[
    Decimal,
    BeforeValidator(_fee_rate_text),
    Field(ge=0, le=MAX_FEE_RATE, decimal_places=2, allow_inf_nan=False),
    PlainSerializer(_plain_fee_rate, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _FEE_RATE_SYNTAX,
            "description": "Percent of each payment kept as the fee, 0 to 20, at most 2 decimals",
            "examples": ["3.5"],
        }
    ),
]


def _reachable(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError as error:
        raise ValueError(f"not a URL: {error}") from None
    if not parts.hostname:
        raise ValueError("must name a host")
    return url


# Where a merchant receives its events: kept exactly as given, since it is posted to as given.
WebhookUrl = Annotated[
    str,
    StringConstraints(max_length=500, pattern=r"^https?://[^\s/?#@\x00-\x1f\x7f]+([/?#][^\s\x00-\x1f\x7f]*)?$"),
    AfterValidator(_reachable),
]
