"""The flows that cross the broker, end to end on the machine's RabbitMQ instead of NATS, as the README runs it:
`PAY_BROKER_URL=amqp://… PAY_CACHE_URL=redis://… pay up`. The tests are the NATS run's own, collected here
again with this module's system."""

from collections.abc import Iterator

import pytest

from e2e.test_commerce import test_a_merchant_is_paid_gross_less_fee_once_and_conservation_holds
from e2e.test_money import test_recharge_transfer_withdraw_and_reconcile
from e2e.test_money_query import test_a_member_s_charge_shows_in_its_region_and_moves_with_it
from e2e.test_remittance import test_remittances_to_a_member_and_to_a_bank_account_move_real_money

from system import RunningSystem, running_system

__all__ = [
    "test_a_member_s_charge_shows_in_its_region_and_moves_with_it",
    "test_a_merchant_is_paid_gross_less_fee_once_and_conservation_holds",
    "test_recharge_transfer_withdraw_and_reconcile",
    "test_remittances_to_a_member_and_to_a_bank_account_move_real_money",
]

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, rabbitmq_url: str) -> Iterator[RunningSystem]:
    on_rabbitmq = {"PAY_BROKER_URL": rabbitmq_url, "PAY_CACHE_URL": "redis://127.0.0.1:6379/0"}
    with running_system(tmp_path_factory.mktemp("rabbitmq") / "pay", on_rabbitmq) as running:
        yield running
