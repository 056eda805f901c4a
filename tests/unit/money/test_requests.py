"""A request another service's saga sent as a ledger command answers that saga when it ends, and again when
the command is re-sent; a member's own request answers nobody."""

from datetime import UTC, datetime

from pay.money.domain.requests import (
    TRANSACTION_ID_REUSED,
    ChangeStatus,
    ChangeType,
    LedgerAnswer,
    MoneyChangingRequest,
)

NOW = datetime(2026, 12, 2, tzinfo=UTC)


def test_a_ledger_request_answers_its_saga_when_it_ends() -> None:
    request = MoneyChangingRequest.new("tx-1", ChangeType.INCREASE, "alice", 10_000, NOW, answer_to="saga-1")
    assert request.events == []
    request.fail("no-linked-account", NOW)
    assert request.events == [LedgerAnswer("tx-1", ChangeType.INCREASE, "saga-1", "no-linked-account")]


def test_a_command_sent_again_is_answered_now_if_ended_else_when_it_ends() -> None:
    ended = MoneyChangingRequest.new("tx-2", ChangeType.HOLD, "alice", 500, NOW, answer_to="first")
    ended.succeed(NOW)
    ended.events.clear()
    ended.answer_again("second")
    assert ended.events == [LedgerAnswer("tx-2", ChangeType.HOLD, "second", None)]

    running = MoneyChangingRequest.new("tx-3", ChangeType.INCREASE, "alice", 500, NOW, answer_to="first")
    running.answer_again("second")
    assert running.events == []
    running.succeed(NOW)
    assert [event.answer_to for event in running.events] == ["second"]


def test_a_members_own_request_answers_nobody() -> None:
    request = MoneyChangingRequest.new("tx-4", ChangeType.TRANSFER, "alice", 100, NOW, counterpart="bob")
    request.succeed(NOW)
    assert request.events == []


def test_a_command_naming_the_request_for_another_movement_is_refused_and_the_request_stays() -> None:
    request = MoneyChangingRequest.new("tx-5", ChangeType.TRANSFER, "alice", 100, NOW, "bob", answer_to="first")
    request.succeed(NOW)
    request.events.clear()
    assert request.is_named_by(ChangeType.TRANSFER, "alice", "bob", 100)
    assert not request.is_named_by(ChangeType.TRANSFER, "alice", "bob", 200)
    assert not request.is_named_by(ChangeType.HOLD, "alice", None, 100)
    request.answer_reuse("second")
    assert request.events == [LedgerAnswer("tx-5", ChangeType.TRANSFER, "second", TRANSACTION_ID_REUSED)]
    assert (request.status, request.answer_to) == (ChangeStatus.SUCCEEDED, "first")
