"""How banking shows an account number to anyone but its owner or an admin: masked, as banks print it.

`110-123-456789` shows as `110-***-**6789`: the first group (the bank's branch or product code, which says
little about whose account it is) and the last four characters stay, every other letter or digit becomes
`*`, and the hyphens stay where they are, so the number keeps its shape. A number without hyphens has no
first group to keep. However short the number, at least as many of its characters after the first group
are hidden as are shown, so that a masked number never gives the whole number away.
"""

SHOWN_AT_END = 4
MASK = "*"


def mask_account_number(number: str) -> str:
    first, hyphen, rest = number.partition("-")
    if not hyphen:
        first, rest = "", number
    hidden_positions = [index for index, character in enumerate(rest) if character != "-"]
    shown = min(SHOWN_AT_END, len(hidden_positions) // 2)
    hidden = set(hidden_positions[: len(hidden_positions) - shown])
    masked = "".join(MASK if index in hidden else character for index, character in enumerate(rest))
    return f"{first}{hyphen}{masked}"
