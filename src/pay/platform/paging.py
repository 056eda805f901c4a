"""Keyset paging: a page is read with one item more than it holds, to learn whether another follows."""

from collections.abc import Callable, Sequence
from typing import TypeVar

ItemT = TypeVar("ItemT")
CursorT = TypeVar("CursorT")


def cut_page(
    found: Sequence[ItemT], limit: int, cursor_of: Callable[[ItemT], CursorT]
) -> tuple[list[ItemT], CursorT | None]:
    """The first `limit` of up to `limit + 1` items read, and the cursor of the last one if more follow."""
    page = list(found[:limit])
    return page, cursor_of(page[-1]) if len(found) > limit else None
