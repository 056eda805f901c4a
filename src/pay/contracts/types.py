"""Field types shared by every public API."""

from typing import Annotated

from pydantic import Field, StringConstraints

MAX_AMOUNT = 1_000_000_000_000

# Strict: JSON floats, strings and booleans are refused rather than coerced; money is whole won.
Amount = Annotated[int, Field(strict=True, ge=1, le=MAX_AMOUNT, description="Whole won, 1 to 10^12")]
Balance = Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT * 1000, description="Whole won")]
# No control characters: PostgreSQL text cannot hold NUL, and one such id must not fail a whole group of writes.
Identifier = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
]
BankName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
BankAccountNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[0-9A-Za-z-]+$")
]
# Not stripped, unlike other identifiers: a transfer id must reach the bank and come back exactly as sent.
TransferId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
