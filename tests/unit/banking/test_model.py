"""The firm banking state machine and the link rules, with no I/O."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from pay.banking.domain.model import (
    NOT_RECEIVED_BY_BANK,
    AccountAlreadyLinked,
    AccountHolderMismatch,
    AccountRef,
    AccountStanding,
    BankAccountInvalid,
    Deadlines,
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

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DEADLINES = Deadlines(
    send_window=timedelta(seconds=60),
    not_received_grace=timedelta(seconds=10),
    first_check=timedelta(seconds=5),
    recheck_initial=timedelta(seconds=1),
    recheck_max=timedelta(seconds=4),
)
KB, PAY = AccountRef("KB", "110-1"), AccountRef("PAYBANK", "100-0000-0001")


def a_request(amount: int = 5_000, correlation_id: str | None = "saga-1") -> FirmbankingRequest:
    return FirmbankingRequest.open("fr-1", TransferOrder("t-1", KB, PAY, amount), NOW, DEADLINES, correlation_id)


def test_a_new_request_is_requested_and_left_to_its_requester_first() -> None:
    request = a_request()
    assert request.status is FirmbankingStatus.REQUESTED and not request.is_settled
    assert request.next_check_at == NOW + DEADLINES.first_check
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
        "toBankName": PAY.bank_name,
        "toBankAccountNumber": PAY.bank_account_number,
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
    for answer in (Settled(True), Unknown("timeout"), NotReceived()):
        request.apply(answer, NOW + timedelta(hours=1), DEADLINES)
    assert request.status is FirmbankingStatus.SUCCEEDED and request.events == []
    with pytest.raises(IllegalTransition):
        request.apply(Settled(False, "insufficient-funds"), NOW, DEADLINES)


def test_an_unknown_outcome_keeps_it_requested_and_backs_off_up_to_the_maximum() -> None:
    request = a_request()
    pauses = []
    for _ in range(5):
        request.apply(Unknown("timeout"), NOW, DEADLINES)
        pauses.append(request.next_check_at - NOW)
    assert request.status is FirmbankingStatus.REQUESTED and request.events == []
    assert pauses == [timedelta(seconds=s) for s in (1, 2, 4, 4, 4)]
    assert request.checks == 5


def test_never_received_is_final_only_after_the_send_window_and_its_grace() -> None:
    request = a_request()
    window_end = NOW + DEADLINES.send_window
    assert request.may_send(window_end - timedelta(microseconds=1), DEADLINES)
    assert not request.may_send(window_end, DEADLINES)
    for moment in (NOW, window_end, window_end + DEADLINES.not_received_grace - timedelta(microseconds=1)):
        request.apply(NotReceived(), moment, DEADLINES)
        assert request.status is FirmbankingStatus.REQUESTED
    request.apply(NotReceived(), window_end + DEADLINES.not_received_grace, DEADLINES)
    assert (request.status, request.reason) == (FirmbankingStatus.FAILED, NOT_RECEIVED_BY_BANK)
    assert request.events == [TransferFailed("fr-1", "t-1", NOT_RECEIVED_BY_BANK, "saga-1")]
    assert not request.may_send(NOW, DEADLINES)


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
    assert request.touches(KB) and request.touches(PAY)
    assert not request.touches(AccountRef("KB", "110-2"))


def test_a_valid_member_links_an_account_the_bank_confirmed() -> None:
    link = RegisteredBankAccount.link("ra-1", MemberStanding("m-1", True, "Kim"), AccountStanding(KB, True, "Kim"), NOW)
    assert (link.membership_id, link.account, link.linked_status_is_valid) == ("m-1", KB, True)


def test_an_invalid_member_or_an_unusable_account_cannot_be_linked() -> None:
    with pytest.raises(MemberInvalid):
        RegisteredBankAccount.link("ra-1", MemberStanding("m-1", False, "Kim"), AccountStanding(KB, True, "Kim"), NOW)
    with pytest.raises(BankAccountInvalid):
        RegisteredBankAccount.link("ra-1", MemberStanding("m-1", True, "Kim"), AccountStanding(KB, False, "Kim"), NOW)


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
            "ra-1", MemberStanding("m-1", True, "Mallory"), AccountStanding(KB, True, "Kim"), NOW
        )
    link = RegisteredBankAccount.link(
        "ra-1", MemberStanding("m-1", True, " kim "), AccountStanding(KB, True, "Kim"), NOW
    )
    assert link.membership_id == "m-1"
