"""The firm banking state machine and the link rules, with no I/O."""

from dataclasses import replace
from datetime import timedelta

import pytest
from pydantic import ValidationError

from pay.banking.domain.model import (
    NOT_RECEIVED_BY_BANK,
    AccountAlreadyLinked,
    AccountHolderMismatch,
    AccountStanding,
    BankAccountInvalid,
    FirmbankingRequest,
    FirmbankingStatus,
    IllegalTransition,
    MemberAlreadyLinked,
    MemberInvalid,
    MemberStanding,
    NotReceived,
    RegisteredBankAccount,
    Settled,
    TransferFailed,
    TransferOrder,
    TransferSucceeded,
    Unknown,
    ensure_not_linked,
)
from pay.contracts.banking import FirmbankingRequestBody, RequestFirmbanking
from pay.contracts.types import MAX_AMOUNT

from banking_support import CORPORATE, DEADLINES, FINTECH, HOLDER, KB, NOW, OTHER


def a_request(amount: int = 5_000, correlation_id: str | None = "saga-1") -> FirmbankingRequest:
    return FirmbankingRequest.open("fr-1", TransferOrder("t-1", KB, CORPORATE, amount), NOW, DEADLINES, correlation_id)


def test_a_new_request_is_requested_and_left_to_its_requester_first() -> None:
    request = a_request()
    assert request.status is FirmbankingStatus.REQUESTED and not request.is_settled
    assert request.wake_at == NOW + DEADLINES.lease
    assert request.events == []


@pytest.mark.parametrize("amount", [0, -1])
def test_amounts_that_are_not_positive_are_refused(amount: int) -> None:
    with pytest.raises(ValueError):
        a_request(amount)


@pytest.mark.parametrize(
    ("contract", "own_fields"), [(FirmbankingRequestBody, {}), (RequestFirmbanking, {"transferId": "t-1"})]
)
def test_amounts_past_the_spec_maximum_are_refused_by_the_contracts_orders_come_through(
    contract: type[FirmbankingRequestBody | RequestFirmbanking], own_fields: dict[str, str]
) -> None:
    """The domain keeps only "positive": the upper bound lives once, in `pay.contracts.types`, and every order
    reaches banking through one of these two (the HTTP body, the saga's command)."""
    order = own_fields | {
        "fromBankName": KB.bank_name,
        "fromBankAccountNumber": KB.bank_account_number,
        "toBankName": CORPORATE.bank_name,
        "toBankAccountNumber": CORPORATE.bank_account_number,
    }
    assert contract.model_validate(order | {"moneyAmount": MAX_AMOUNT}).money_amount == MAX_AMOUNT
    with pytest.raises(ValidationError):
        contract.model_validate(order | {"moneyAmount": MAX_AMOUNT + 1})


def test_the_bank_s_success_settles_the_request_and_answers_the_saga() -> None:
    request = a_request()
    later = NOW + timedelta(seconds=1)
    request.apply(Settled(True, None, "bank-tx-1"), later, DEADLINES)
    assert (request.status, request.reason, request.external_transaction_id) == (
        FirmbankingStatus.SUCCEEDED,
        None,
        "bank-tx-1",
    )
    assert request.updated_at == later
    assert request.events == [TransferSucceeded("fr-1", "t-1", 5_000, "saga-1")]


def test_the_bank_s_refusal_fails_the_request_with_its_reason() -> None:
    request = a_request()
    request.apply(Settled(False, "insufficient-funds"), NOW, DEADLINES)
    assert (request.status, request.reason) == (FirmbankingStatus.FAILED, "insufficient-funds")
    assert request.events == [TransferFailed("fr-1", "t-1", "insufficient-funds", "saga-1")]


def test_a_refusal_without_a_reason_still_says_why() -> None:
    request = a_request()
    request.apply(Settled(False), NOW, DEADLINES)
    assert request.reason == "refused-by-bank"


def test_settled_is_final_and_the_same_answer_twice_changes_nothing() -> None:
    request = a_request()
    request.apply(Settled(True), NOW, DEADLINES)
    request.events.clear()
    for answer in (Settled(True), Unknown("timeout"), NotReceived(NOW)):
        request.apply(answer, NOW + timedelta(hours=1), DEADLINES)
    assert request.status is FirmbankingStatus.SUCCEEDED and request.events == []
    with pytest.raises(IllegalTransition):
        request.apply(Settled(False, "insufficient-funds"), NOW, DEADLINES)


def test_an_unknown_outcome_keeps_it_requested_and_backs_off_up_to_the_maximum() -> None:
    request = a_request()
    pauses = []
    for _ in range(5):
        request.apply(Unknown("timeout"), NOW, DEADLINES)
        assert request.wake_at is not None
        pauses.append(request.wake_at - NOW)
    assert request.status is FirmbankingStatus.REQUESTED and request.events == []
    assert pauses == [timedelta(seconds=s) for s in (1, 2, 4, 4, 4)]
    assert request.checks == 5


def test_never_received_is_final_only_after_the_send_window_and_its_grace() -> None:
    request = a_request()
    window_end = NOW + DEADLINES.send_window
    assert request.may_send(window_end - timedelta(microseconds=1), DEADLINES)
    assert not request.may_send(window_end, DEADLINES)
    for moment in (NOW, window_end, window_end + DEADLINES.not_received_grace - timedelta(microseconds=1)):
        request.apply(NotReceived(moment), moment, DEADLINES)
        assert request.status is FirmbankingStatus.REQUESTED
    final = window_end + DEADLINES.not_received_grace
    request.apply(NotReceived(final), final, DEADLINES)
    assert (request.status, request.reason) == (FirmbankingStatus.FAILED, NOT_RECEIVED_BY_BANK)
    assert request.events == [TransferFailed("fr-1", "t-1", NOT_RECEIVED_BY_BANK, "saga-1")]
    assert not request.may_send(NOW, DEADLINES)
    assert request.wake_at is None


def test_never_received_counts_from_when_the_bank_was_asked_not_when_its_answer_came() -> None:
    """Asked before the grace ended, the bank may not yet have seen a transfer sent at the window's very end."""
    request = a_request()
    final = NOW + DEADLINES.send_window + DEADLINES.not_received_grace
    request.apply(NotReceived(final - timedelta(microseconds=1)), final + timedelta(seconds=1), DEADLINES)
    assert request.status is FirmbankingStatus.REQUESTED


def test_a_step_at_the_bank_holds_the_request_for_its_lease_and_a_settled_one_is_never_due() -> None:
    request = a_request()
    assert not request.is_due(NOW + DEADLINES.lease - timedelta(microseconds=1))
    assert request.is_due(NOW + DEADLINES.lease)
    later = NOW + timedelta(minutes=1)
    request.hold(later, DEADLINES)
    assert request.wake_at == later + DEADLINES.lease and not request.is_due(later)
    request.apply(Settled(True), later, DEADLINES)
    assert request.wake_at is None and not request.is_due(later + timedelta(days=1))


def test_a_re_sent_command_is_answered_again_only_once_settled() -> None:
    request = a_request()
    request.answer_again("saga-2")
    assert request.events == []
    request.apply(Settled(True), NOW, DEADLINES)
    request.answer_again("saga-2")
    assert request.events == [
        TransferSucceeded("fr-1", "t-1", 5_000, "saga-1"),
        TransferSucceeded("fr-1", "t-1", 5_000, "saga-2"),
    ]


def test_a_request_touches_its_two_accounts_only() -> None:
    request = a_request()
    assert request.touches(KB) and request.touches(CORPORATE)
    assert not request.touches(OTHER)


def test_a_valid_member_links_an_account_the_bank_confirmed_under_its_fintech_use_number() -> None:
    link = RegisteredBankAccount.link(
        "ra-1", MemberStanding("m-1", True, HOLDER), AccountStanding(KB, True, HOLDER), FINTECH, NOW
    )
    assert (link.membership_id, link.account, link.linked_status_is_valid) == ("m-1", KB, True)
    assert link.fintech_use_num == FINTECH


def test_an_order_is_the_same_whichever_name_its_source_goes_to_the_bank_under() -> None:
    order = TransferOrder("t-1", KB, CORPORATE, 5_000)
    assert replace(order, source_fintech_use_num=FINTECH) == order


def test_an_invalid_member_or_an_unusable_account_cannot_be_linked() -> None:
    with pytest.raises(MemberInvalid):
        RegisteredBankAccount.link(
            "ra-1", MemberStanding("m-1", False, HOLDER), AccountStanding(KB, True, HOLDER), FINTECH, NOW
        )
    with pytest.raises(BankAccountInvalid):
        RegisteredBankAccount.link(
            "ra-1", MemberStanding("m-1", True, HOLDER), AccountStanding(KB, False, HOLDER), FINTECH, NOW
        )


def test_an_account_is_linked_once_and_a_member_links_one_account() -> None:
    taken = RegisteredBankAccount("ra-1", "m-1", KB, True, NOW)
    ensure_not_linked(None, None)
    with pytest.raises(AccountAlreadyLinked):
        ensure_not_linked(None, taken)
    with pytest.raises(AccountAlreadyLinked):
        ensure_not_linked(taken, taken)
    with pytest.raises(MemberAlreadyLinked):
        ensure_not_linked(taken, None)


def test_only_the_holder_of_an_account_may_link_it() -> None:
    with pytest.raises(AccountHolderMismatch):
        RegisteredBankAccount.link(
            "ra-1", MemberStanding("m-1", True, "Mallory"), AccountStanding(KB, True, HOLDER), FINTECH, NOW
        )
    link = RegisteredBankAccount.link(
        "ra-1", MemberStanding("m-1", True, " kim "), AccountStanding(KB, True, HOLDER), FINTECH, NOW
    )
    assert link.membership_id == "m-1"
