"""Event-driven firm banking: sagas' commands in, answers out, each transfer at most once whatever the bank does."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from integration.banking.harness import NOT_RECEIVED_GRACE, SEND_WINDOW, SLOW_BANK_MS, Account, Answers, Services
from pay.contracts.banking import FirmbankingFailed, FirmbankingSucceeded, RequestFirmbanking
from pay.contracts.clients import NotFound
from pay.platform.broker import Broker


@pytest.fixture(scope="module")
async def broker(nats_url: str) -> AsyncIterator[Broker]:
    broker = Broker(nats_url, "banking-test-saga")
    await broker.start()
    yield broker
    await broker.stop()


def command(source: Account, destination: Account, amount: int) -> RequestFirmbanking:
    return RequestFirmbanking(
        correlation_id=f"saga-{uuid.uuid4().hex[:8]}",
        transfer_id=str(uuid.uuid4()),
        from_bank_name=source.bank_name,
        from_bank_account_number=source.number,
        to_bank_name=destination.bank_name,
        to_bank_account_number=destination.number,
        money_amount=amount,
    )


async def stored(services: Services, source: Account, commands: list[RequestFirmbanking]) -> list[dict[str, Any]]:
    """The requests of `commands`, once banking stored all of them."""
    wanted = {command.transfer_id for command in commands}
    for _ in range(100):
        requests = [r for r in await services.requests_of(source) if r["transferId"] in wanted]
        if len(requests) == len(wanted):
            return requests
        await asyncio.sleep(0.05)
    raise AssertionError(f"banking stored no request for some of {wanted}")


async def assert_answered_once_as_the_bank_did(
    services: Services, answers: Answers, command: RequestFirmbanking
) -> str:
    """The one answer to `command`, read once answers had time to come: it says what the bank did. Returns it."""
    (answer,) = await answers.of(command.transfer_id)
    assert answer["correlationId"] == command.correlation_id
    try:
        at_bank = (await services.bank.get_transfer(command.transfer_id)).status.value
    except NotFound:
        at_bank = "FAILED"
    if answer["subject"] == FirmbankingSucceeded.subject:
        assert at_bank == "SUCCEEDED" and answer["moneyAmount"] == command.money_amount
        return "SUCCEEDED"
    assert answer["subject"] == FirmbankingFailed.subject and at_bank == "FAILED", answer
    return "FAILED"


async def test_a_command_moves_the_money_and_is_answered_with_the_saga_s_ids(
    services: Services, broker: Broker, answers: Answers
) -> None:
    source, destination = await services.account(50_000), await services.account()
    sent = command(source, destination, 20_000)

    await broker.publish_message(sent)

    (answer,) = await answers.exactly(sent.transfer_id)
    assert answer["subject"] == FirmbankingSucceeded.subject
    assert (answer["correlationId"], answer["moneyAmount"]) == (sent.correlation_id, 20_000)
    assert (await services.balance(source), await services.balance(destination)) == (30_000, 20_000)
    request = await services.settled(answer["firmbankingRequestId"])
    assert (request["status"], request["transferId"]) == ("SUCCEEDED", sent.transfer_id)


async def test_insufficient_funds_are_answered_failed_and_move_nothing(
    services: Services, broker: Broker, answers: Answers
) -> None:
    source, destination = await services.account(1_000), await services.account()
    sent = command(source, destination, 5_000)

    await broker.publish_message(sent)

    (answer,) = await answers.exactly(sent.transfer_id)
    assert answer["subject"] == FirmbankingFailed.subject
    assert (answer["correlationId"], answer["reason"]) == (sent.correlation_id, "insufficient-funds")
    assert (await services.balance(source), await services.balance(destination)) == (1_000, 0)


async def test_a_duplicated_message_and_a_re_sent_command_move_the_money_once(
    services: Services, broker: Broker, answers: Answers
) -> None:
    source, destination = await services.account(50_000), await services.account()
    sent = command(source, destination, 10_000)

    await broker.publish_message(sent)
    # The same message once more, as an outbox relay that crashed before marking it published sends it.
    await broker.publish(sent.subject, sent.to_payload(), str(uuid.uuid4()))
    await answers.exactly(sent.transfer_id)
    # The saga asks again about the same transfer, in a new message: it hears the outcome again.
    await broker.publish_message(sent.model_copy(update={"message_id": str(uuid.uuid4())}))
    first, second = await answers.exactly(sent.transfer_id, 2)

    assert first["subject"] == second["subject"] == FirmbankingSucceeded.subject
    assert first["firmbankingRequestId"] == second["firmbankingRequestId"]
    assert second["correlationId"] == sent.correlation_id
    assert len(await services.requests_of(source)) == 1
    assert (await services.balance(source), await services.balance(destination)) == (40_000, 10_000)


async def test_a_transfer_id_reused_for_another_transfer_is_neither_executed_nor_answered(
    services: Services, broker: Broker, answers: Answers
) -> None:
    source, destination = await services.account(50_000), await services.account()
    sent = command(source, destination, 10_000)
    await broker.publish_message(sent)
    await answers.of(sent.transfer_id)

    await broker.publish_message(sent.model_copy(update={"message_id": str(uuid.uuid4()), "money_amount": 30_000}))

    await answers.exactly(sent.transfer_id)
    assert (await services.balance(source), await services.balance(destination)) == (40_000, 10_000)


async def test_a_malformed_command_is_set_aside_without_effect(services: Services, broker: Broker) -> None:
    source, destination = await services.account(50_000), await services.account()
    good = command(source, destination, 1_000)
    # A buggy sender: the contract would refuse to build this command, so it is built around it.
    zero = RequestFirmbanking.model_construct(**(command(source, destination, 1).model_dump() | {"money_amount": 0}))

    await broker.publish_message(zero)
    await broker.publish_message(good)

    assert [request["transferId"] for request in await stored(services, source, [good])] == [good.transfer_id]
    assert await services.count_rows("firmbanking_requests", "transfer_id = :id", id=zero.transfer_id) == 0


async def test_a_slow_bank_leaves_commands_pending_and_they_settle_once_it_answers(
    services: Services, broker: Broker, answers: Answers
) -> None:
    source, destination = await services.account(100_000), await services.account()
    sent = [command(source, destination, 1_000) for _ in range(2)]
    await services.faults(latency_ms=SLOW_BANK_MS)
    try:
        for each in sent:
            await broker.publish_message(each)
        await stored(services, source, sent)
        # The bank executed the transfers but every answer came too late: banking must not call them failed.
        await asyncio.sleep(SLOW_BANK_MS / 1000)
        assert [r["status"] for r in await services.requests_of(source)] == ["REQUESTED"] * 2
    finally:
        await services.faults()

    for each in sent:
        await answers.of(each.transfer_id)
    await answers.linger()
    statuses = [await assert_answered_once_as_the_bank_did(services, answers, each) for each in sent]
    assert statuses == ["SUCCEEDED"] * 2
    assert (await services.balance(source), await services.balance(destination)) == (98_000, 2_000)


async def test_a_bank_failing_a_third_of_its_calls_answers_every_command_once(
    services: Services, broker: Broker, answers: Answers
) -> None:
    source, destination = await services.account(100_000), await services.account()
    sent = [command(source, destination, 1_000) for _ in range(10)]
    await services.faults(error_rate=0.3)
    try:
        for each in sent:
            await broker.publish_message(each)
        for each in sent:
            await answers.of(each.transfer_id)
    finally:
        await services.faults()
    await answers.linger()

    statuses = [await assert_answered_once_as_the_bank_did(services, answers, each) for each in sent]
    moved = 1_000 * statuses.count("SUCCEEDED")
    assert (await services.balance(source), await services.balance(destination)) == (100_000 - moved, moved)


async def test_a_bank_down_for_a_moment_settles_the_command_once_it_is_back(
    services: Services, broker: Broker, answers: Answers
) -> None:
    source, destination = await services.account(10_000), await services.account()
    sent = command(source, destination, 4_000)
    await services.faults(down=True)
    try:
        await broker.publish_message(sent)
        (request,) = await stored(services, source, [sent])
        await asyncio.sleep(1)
        assert await services.status_of(request["firmbankingRequestId"]) == "REQUESTED"
    finally:
        await services.faults()

    await answers.exactly(sent.transfer_id)
    assert await assert_answered_once_as_the_bank_did(services, answers, sent) == "SUCCEEDED"
    assert (await services.balance(source), await services.balance(destination)) == (6_000, 4_000)


async def test_a_bank_down_past_the_send_window_fails_the_command_once_it_says_it_never_got_it(
    services: Services, broker: Broker, answers: Answers
) -> None:
    source, destination = await services.account(10_000), await services.account()
    sent = command(source, destination, 4_000)
    await services.faults(down=True)
    try:
        await broker.publish_message(sent)
        (request,) = await stored(services, source, [sent])
        created = datetime.fromisoformat(request["createdAt"])
        final = created + SEND_WINDOW + NOT_RECEIVED_GRACE
        await asyncio.sleep((final - datetime.now(created.tzinfo)).total_seconds() + 0.5)
        # Past every deadline, but the bank cannot say whether it got the transfer: still pending.
        assert await services.status_of(request["firmbankingRequestId"]) == "REQUESTED"
    finally:
        await services.faults()

    (answer,) = await answers.exactly(sent.transfer_id)
    assert (answer["subject"], answer["reason"]) == (FirmbankingFailed.subject, "not-received-by-bank")
    with pytest.raises(NotFound):
        await services.bank.get_transfer(sent.transfer_id)
    assert (await services.balance(source), await services.balance(destination)) == (10_000, 0)
