"""Account numbers as shown to anyone but their owner or an admin."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pay.banking.domain.masking import MASK, SHOWN_AT_END, mask_account_number

ACCOUNT_NUMBERS = st.from_regex(r"\A[0-9A-Za-z-]{1,40}\Z")


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("110-123-456789", "110-***-**6789"),
        ("100-0000-0001", "100-****-0001"),
        ("1234567890", "******7890"),
        ("110-12", "110-*2"),
        ("110-", "110-"),
        ("7", "*"),
    ],
)
def test_the_first_group_and_the_last_four_stay(number: str, masked: str) -> None:
    assert mask_account_number(number) == masked


@given(ACCOUNT_NUMBERS)
def test_a_masked_number_keeps_its_shape_and_shows_only_what_the_rule_allows(number: str) -> None:
    masked = mask_account_number(number)
    first, hyphen, rest = number.partition("-") if "-" in number else ("", "", number)

    assert len(masked) == len(number)
    assert [i for i, c in enumerate(masked) if c == "-"] == [i for i, c in enumerate(number) if c == "-"]
    assert masked.startswith(first + hyphen)
    tail = masked[len(first + hyphen) :]
    characters = [c for c in rest if c != "-"]
    shown = [c for c in tail if c not in (MASK, "-")]
    hidden = tail.count(MASK)
    assert len(shown) <= SHOWN_AT_END and len(shown) <= hidden
    assert shown == characters[len(characters) - len(shown) :]
    if characters:
        assert masked != number, "something after the first group is always hidden"
