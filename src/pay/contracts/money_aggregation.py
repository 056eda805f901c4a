"""Money aggregation's public API models (SPEC "Money aggregation")."""

from typing import Annotated

from pydantic import Field, StringConstraints

from pay.contracts.messages import CamelModel

# A region as membership keeps it (at most 100 characters), and as its list of a region can name it in a path:
# without a slash.
RegionAddress = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f/]+$")
]


class MoneySumByAddressRequest(CamelModel):
    address: RegionAddress


class MoneySumByAddress(CamelModel):
    address: str
    money_sum: int = Field(description="What the region's members can spend now, in won")
    member_count: int = Field(description="The region's members, counted whether or not they hold money")
