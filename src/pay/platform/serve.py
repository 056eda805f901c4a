"""Running one service: its app on uvicorn, with graceful shutdown on SIGTERM and SIGINT.

Each service's `app.create_app()` reads its own settings class from the `PAY_*` variables; this
module needs only the settings every service shares (where to listen, how many processes).

With `PAY_WORKERS` above 1, uvicorn runs that many processes of the service on one port; each has
its own kernel, which is safe because every piece of shared work (outbox relay, saga timer,
consumers) is claimed with row locks or broker consumer groups.
"""

import importlib
import os
from typing import Any

import uvicorn
from fastapi import FastAPI

from pay.platform.logging import configure_logging
from pay.platform.settings import Settings

GRACEFUL_SHUTDOWN_SECONDS = 10
_PACKAGE_VARIABLE = "PAY_APP_PACKAGE"


def serve(package: str, settings: Settings, port: int) -> None:
    configure_logging(settings.service, settings.log_level)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": port,
        "log_config": None,
        "access_log": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
        "server_header": False,
    }
    if settings.workers > 1:
        os.environ[_PACKAGE_VARIABLE] = package
        uvicorn.run(f"{__name__}:app_from_environment", factory=True, workers=settings.workers, **options)
    else:
        uvicorn.Server(uvicorn.Config(_create_app(package), **options)).run()


def app_from_environment() -> FastAPI:
    """What each worker process builds (uvicorn imports it by name in the new process)."""
    settings = Settings()
    configure_logging(settings.service, settings.log_level)
    return _create_app(os.environ[_PACKAGE_VARIABLE])


def _create_app(package: str) -> FastAPI:
    app: FastAPI = importlib.import_module(f"{package}.app").create_app()
    return app
