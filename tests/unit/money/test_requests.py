"""A request another service's saga sent as a ledger command answers that saga when it ends, and again when
the command is re-sent; a member's own request answers nobody. A recharge's or withdrawal's end, and a transfer
that moved money, are told to the members."""

from datetime import UTC, datetime

from pay.money.domain.requests import (
    TRANSACTION_ID_REUSED,
    ChangeStatus,
    ChangeType,
    LedgerAnswer,
    MoneyChangingRequest,
    RequestEnded,
)

NOW = datetime(2026, 12, 2, tzinfo=UTC)


def answers(request: MoneyChangingRequest) -> list[LedgerAnswer]:
    return [event for event in request.events if isinstance(event, LedgerAnswer)]


def told(request: MoneyChangingRequest) -> list[RequestEnded]:
    return [event for event in request.events if isinstance(event, RequestEnded)]


def test_a_ledger_request_answers_its_saga_when_it_ends() -> None:
    request = MoneyChangingRequest.new("tx-1", ChangeType.INCREASE, "alice", 10_000, NOW, answer_to="saga-1")
    assert request.events == []
    request.fail("no-linked-account", NOW)
    assert answers(request) == [LedgerAnswer("tx-1", ChangeType.INCREASE, "saga-1", "no-linked-account")]


def test_a_command_sent_again_is_answered_now_if_ended_else_when_it_ends() -> None:
    ended = MoneyChangingRequest.new("tx-2", ChangeType.HOLD, "alice", 500, NOW, answer_to="first")
    ended.succeed(NOW)
    ended.events.clear()
    ended.answer_again("second")
    assert answers(ended) == [LedgerAnswer("tx-2", ChangeType.HOLD, "second", None)]

    running = MoneyChangingRequest.new("tx-3", ChangeType.INCREASE, "alice", 500, NOW, answer_to="first")
    running.answer_again("second")
    assert running.events == []
    running.succeed(NOW)
    assert [event.answer_to for event in answers(running)] == ["second"]


def test_a_members_own_request_answers_nobody() -> None:
    request = MoneyChangingRequest.new("tx-4", ChangeType.TRANSFER, "alice", 100, NOW, counterpart="bob")
    request.succeed(NOW)
    assert answers(request) == []


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


def test_members_are_told_how_a_recharge_or_withdrawal_ended_and_of_a_transfer_that_moved_money() -> None:
    recharge = MoneyChangingRequest.new("tx-6", ChangeType.INCREASE, "alice", 10_000, NOW, answer_to="saga-1")
    recharge.fail("bank-refused", NOW)
    withdrawal = MoneyChangingRequest.new("tx-7", ChangeType.DECREASE, "alice", 500, NOW)
    withdrawal.succeed(NOW)
    transfer = MoneyChangingRequest.new("tx-8", ChangeType.TRANSFER, "alice", 100, NOW, counterpart="bob")
    transfer.succeed(NOW)
    refused = MoneyChangingRequest.new("tx-9", ChangeType.TRANSFER, "alice", 100, NOW, "bob", answer_to="saga-2")
    refused.fail("insufficient-balance", NOW)
    hold = MoneyChangingRequest.new("tx-10", ChangeType.HOLD, "alice", 100, NOW, answer_to="saga-3")
    hold.succeed(NOW)

    assert told(recharge) == [RequestEnded("tx-6", ChangeType.INCREASE, "alice", 10_000, "bank-refused")]
    assert told(withdrawal) == [RequestEnded("tx-7", ChangeType.DECREASE, "alice", 500, None)]
    assert told(transfer) == [RequestEnded("tx-8", ChangeType.TRANSFER, "alice", 100, None, "bob")]
    assert told(refused) == told(hold) == []
