"""Field types shared by every public API."""

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

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
