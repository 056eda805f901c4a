"""Composition root: wires money-query's adapters into its use cases and builds the ASGI app."""

from datetime import UTC, datetime
from functools import partial

from fastapi import FastAPI

from pay.money_query.adapters import messaging
from pay.money_query.adapters.db import MoneyQueryUnitOfWork
from pay.money_query.adapters.http import ERRORS, router
from pay.money_query.application import use_cases
from pay.money_query.settings import MoneyQuerySettings
from pay.platform import http
from pay.platform.kernel import Kernel


def create_app(settings: MoneyQuerySettings | None = None) -> FastAPI:
    settings = settings or MoneyQuerySettings()
    kernel = Kernel(settings)
    assert kernel.broker is not None
    deps = use_cases.Dependencies(
        uow=partial(MoneyQueryUnitOfWork, kernel.engine, kernel.on_outbox_commit),
        replay=messaging.replay_from(kernel.broker),
        clock=partial(datetime.now, UTC),
    )
    messaging.subscribe(kernel.broker, deps)
    app = http.create_app(
        kernel,
        title="Pay money query",
        description="Money per region, from a read model fed only by events.",
        routers=[router],
        error_map=ERRORS,
    )
    app.state.money_query = deps
    return app
