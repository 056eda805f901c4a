"""Members as money knows them from membership's events: a deactivated member may not move money.

The access token of a member stays valid until it expires; membership's events tell money at once that a
member was deactivated, so money refuses what the member still asks with that token.
"""

from collections.abc import Collection


class MemberDeactivated(Exception):
    """The member acting on its own wallet was deactivated: it may not move money."""


class RecipientDeactivated(Exception):
    """Money may not be sent to a deactivated member's wallet."""


def ensure_may_move_money(acting_member: str | None, deactivated: Collection[str]) -> None:
    """`acting_member` is the member acting on its own wallet, or None when an admin or a service acts for it:
    they act for anyone, a deactivated member included."""
    if acting_member is not None and acting_member in deactivated:
        raise MemberDeactivated(acting_member)


def ensure_may_receive_money(recipient: str, deactivated: Collection[str]) -> None:
    if recipient in deactivated:
        raise RecipientDeactivated(recipient)
