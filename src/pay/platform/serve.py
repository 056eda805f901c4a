"""Running one service process: the app on uvicorn, with graceful shutdown on SIGTERM and SIGINT."""

import importlib
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from pay.platform.logging import configure_logging
from pay.platform.settings import Settings

GRACEFUL_SHUTDOWN_SECONDS = 10


def serve(package: str, settings: Settings, port: int) -> None:
    configure_logging(settings.service, settings.log_level)
    create_app: Callable[[Settings], FastAPI] = importlib.import_module(f"{package}.app").create_app
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        server_header=False,
    )
    uvicorn.Server(config).run()
