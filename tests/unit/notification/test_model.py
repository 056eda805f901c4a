"""What members are told and operators alerted of: feeds numbered per recipient without gaps, franchise owners
kept by time, tickets that expire, and at most so many alerts a minute with one summary of the rest."""

from datetime import UTC, datetime, timedelta

from pay.contracts.money import MoneyTransferred, RechargeFailed, RechargeSucceeded
from pay.contracts.remittance import RemittanceFailed, RemittanceType
from pay.notification.adapters.messaging import told
from pay.notification.domain.model import AlertWindow, FranchiseOwner, Notice, Ticket, newer_owner, numbered

NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)


def notice(recipient: str, kind: str = "transfer.received") -> Notice:
    return Notice(kind, "text", {}, NOW, recipient)


def test_entries_are_numbered_after_each_recipients_last_in_order() -> None:
    entries = numbered([notice("alice"), notice("bob"), notice("alice")], {"alice": 7}, NOW)

    assert [(entry.recipient, entry.seq) for entry in entries] == [("alice", 8), ("bob", 1), ("alice", 9)]


def test_a_franchise_owner_changes_only_for_a_later_event() -> None:
    known = FranchiseOwner("f-1", "owner-a", NOW)

    assert newer_owner(None, known)
    assert newer_owner(known, FranchiseOwner("f-1", "owner-b", NOW + timedelta(seconds=1)))
    assert not newer_owner(known, FranchiseOwner("f-1", "owner-b", NOW))


def test_a_ticket_expires_after_its_lifetime() -> None:
    ticket = Ticket.issue("alice", "member", NOW, timedelta(seconds=30))

    assert ticket.expires_at == NOW + timedelta(seconds=30)


def test_alerts_beyond_the_minutes_share_are_held_back_and_counted_once_the_minute_is_over() -> None:
    window = AlertWindow(at_most=2)

    assert [window.admit(t) for t in (0.0, 1.0, 2.0, 3.0, 4.0)] == [True, True, False, False, False]
    assert window.close(59.0) == 0
    assert window.closes_at() == 60.0
    assert window.close(60.0) == 3
    assert window.close(61.0) == 0
    assert window.closes_at() is None
    assert window.admit(62.0)


def test_a_recharge_tells_its_member_and_only_a_failed_one_alerts_the_operators() -> None:
    ok = told(RechargeSucceeded(money_changing_request_id="r-1", membership_id="alice", amount=10_000))
    failed = told(RechargeFailed(money_changing_request_id="r-2", membership_id="alice", amount=5, reason="refused"))

    assert [(n.recipient, n.kind) for n in ok.notices] == [("alice", "recharge.succeeded")]
    assert ok.alert is None
    assert [(n.recipient, n.kind, n.data["reason"]) for n in failed.notices] == [
        ("alice", "recharge.failed", "refused")
    ]
    assert failed.alert is not None and "refused" in failed.alert


def test_a_transfer_tells_its_receiver_and_a_failed_remittance_its_sender_and_the_operators() -> None:
    transfer = told(
        MoneyTransferred(money_changing_request_id="t", membership_id="a", amount=1_500, to_membership_id="b")
    )
    remittance = told(
        RemittanceFailed(
            remittance_request_id="rm",
            from_membership_id="a",
            to_membership_id=None,
            to_bank_name="KB",
            to_bank_account_number="1-2",
            remittance_type=RemittanceType.BANK,
            amount=3,
            recharged_amount=0,
            reason="bank-refused",
        )
    )

    [received] = transfer.notices
    assert (received.recipient, received.kind, received.text) == ("b", "transfer.received", "Received 1,500 won")
    assert [n.recipient for n in remittance.notices] == ["a"]
    assert remittance.alert is not None
