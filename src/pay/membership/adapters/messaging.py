"""Membership's events on the broker: domain events become versioned contract messages."""

from pay.contracts.membership import MembershipModified, MembershipRegistered
from pay.contracts.messages import Message
from pay.membership.domain.model import MemberEvent, MemberModified, MemberRegistered


def to_message(event: MemberEvent) -> Message:
    match event:
        case MemberRegistered():
            return MembershipRegistered(
                membership_id=event.membership_id,
                address=event.address,
                is_valid=event.is_valid,
                is_corp=event.is_corp,
            )
        case MemberModified():
            return MembershipModified(
                membership_id=event.membership_id,
                old_address=event.old_address,
                new_address=event.new_address,
                is_valid=event.is_valid,
                is_corp=event.is_corp,
            )
