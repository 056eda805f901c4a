"""Sagas as rows of the kernel's saga table: what is stored comes back, older rows included."""

from datetime import UTC, datetime

from pay.money.adapters.saga_repository import record_of, saga_of
from pay.money.domain.sagas import BankAccount, RechargeSaga, Step, WithdrawalSaga
from pay.platform.saga import SagaRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CORPORATE = BankAccount("PAYBANK", "100")
MEMBER = BankAccount("KB", "200")


def test_a_stored_saga_comes_back_as_it_was() -> None:
    recharge = RechargeSaga("r-1", "r-1", "m-1", 5_000, CORPORATE, Step.REFUNDING, NOW, NOW, 2, MEMBER, "why")
    recharge.refunds, recharge.refunding_since, recharge.refund_refused = 3, NOW, "account-frozen"
    withdrawal, _ = WithdrawalSaga.start("r-2", "m-2", 1_000, CORPORATE, NOW)
    for saga in (recharge, withdrawal):
        back = saga_of(record_of(saga))
        assert back == saga and type(back) is type(saga)


def test_a_refund_stored_before_refunds_were_retried_is_still_the_first_refund() -> None:
    data = {
        "requestId": "r-1",
        "membershipId": "m-1",
        "amount": 5_000,
        "corporateAccount": {"bankName": "PAYBANK", "accountNumber": "100"},
        "memberAccount": {"bankName": "KB", "accountNumber": "200"},
        "startedAt": NOW.isoformat(),
        "attempts": 4,
        "failure": "balance-limit-exceeded",
    }
    saga = saga_of(SagaRecord("r-1", "recharge", "REFUNDING", False, data, NOW))
    transfer = saga.pending_transfer()
    assert transfer is not None and transfer.transfer_id == "r-1-refund"
    assert (saga.refunds, saga.refunding_since, saga.refund_refused) == (1, NOW, None)
