"""Composition root: wires payment's adapters into its use cases and builds the ASGI app."""

from datetime import UTC, datetime, timedelta
from functools import partial

from fastapi import FastAPI

from pay.contracts.clients import BankingClient, FranchiseClient, MembershipClient, MoneyClient
from pay.payment.adapters import messaging
from pay.payment.adapters.clients import BankingLinkedAccounts, FranchiseDirectory, MembershipMembers, MoneyWallets
from pay.payment.adapters.db import PaymentUnitOfWork
from pay.payment.adapters.http import ERRORS, router
from pay.payment.application import use_cases
from pay.payment.domain.model import BankAccount
from pay.payment.settings import PaymentSettings
from pay.platform import http
from pay.platform.kernel import Kernel
from pay.platform.retry import RetryPolicy
from pay.platform.saga import SagaTimer
from pay.platform.watch import EndWatch


def create_app(settings: PaymentSettings | None = None) -> FastAPI:
    settings = settings or PaymentSettings()
    if settings.service_token is None:
        raise ValueError(
            "payment asks membership, franchise, banking and money with a service credential: set PAY_SERVICE_TOKEN"
        )
    kernel = Kernel(settings)
    assert kernel.broker is not None
    token, timeout = settings.service_token.get_secret_value(), settings.http_timeout_seconds
    membership = MembershipClient(settings.url_of("membership"), token=token, timeout=timeout)
    franchise = FranchiseClient(settings.url_of("franchise"), token=token, timeout=timeout)
    banking = BankingClient(settings.url_of("banking"), token=token, timeout=timeout)
    money = MoneyClient(settings.url_of("money"), token=token, timeout=timeout)

    async def advance(saga_id: str) -> None:
        await use_cases.advance_saga(deps, saga_id)

    timer = SagaTimer(kernel.engine, advance)
    deps = use_cases.Dependencies(
        uow=partial(PaymentUnitOfWork, kernel.engine, kernel.on_outbox_commit),
        members=MembershipMembers(membership),
        franchises=FranchiseDirectory(franchise),
        linked_accounts=BankingLinkedAccounts(banking),
        wallets=MoneyWallets(money),
        clock=partial(datetime.now, UTC),
        corporate_account=BankAccount(settings.corporate_bank_name, settings.corporate_bank_account_number),
        retry=RetryPolicy(
            first_delay=timedelta(seconds=settings.payment_retry_first_seconds),
            max_delay=timedelta(seconds=settings.payment_retry_max_seconds),
        ),
        watch=EndWatch(),
        answer_within_seconds=settings.payment_wait_seconds,
    )
    messaging.subscribe(kernel.broker, deps)

    async def start_timer() -> None:
        kernel.run_in_background(timer.run(), "payment-sagas")

    async def close_clients() -> None:
        for client in (membership, franchise, banking, money):
            await client.aclose()

    app = http.create_app(
        kernel,
        title="Pay payment",
        description="Payments at franchises from the wallet or the linked bank account, their refunds and fees.",
        routers=[router],
        error_map=ERRORS,
        on_startup=[start_timer],
        on_shutdown=[close_clients],
    )
    app.state.payment = deps
    return app
