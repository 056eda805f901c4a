"""Every service's app, composed in this process as `pay serve` composes it, to read what it serves and hears.

Nothing is started: an app's database and broker are opened by its lifespan, which never runs here, so their
URLs may name nothing; the keys a service reads or makes at composition live in a directory of their own.
"""

import importlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from fastapi import FastAPI

from pay.platform import auth

_PREFIX = "PAY_"
# Addresses that name no server: composing an app only parses them.
_NOWHERE = {
    "PAY_DATABASE_URL": "postgresql+asyncpg://docs@127.0.0.1:1/docs",
    "PAY_BROKER_URL": "nats://127.0.0.1:1",
}


@contextmanager
def composed_apps(served: Mapping[str, str]) -> Iterator[dict[str, FastAPI]]:
    """Each service's app by name, from `served` (service name -> package holding `app.create_app`), composed
    with the settings' defaults: the caller's own `PAY_*` variables are set aside meanwhile."""
    with TemporaryDirectory(prefix="pay-docs-") as data_dir:
        keys_dir = Path(data_dir) / "keys"
        auth.ensure_signing_keys(keys_dir)
        credential = auth.TokenIssuer(auth.read_private_key(keys_dir, None), timedelta(minutes=1))
        variables = {
            **_NOWHERE,
            "PAY_DATA_DIR": data_dir,
            "PAY_SERVICE_TOKEN": credential.issue("docs", auth.Role.SERVICE),
        }
        with _environment(variables):
            yield {name: importlib.import_module(f"{package}.app").create_app() for name, package in served.items()}


@contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    kept = {name: value for name, value in os.environ.items() if name.startswith(_PREFIX)}
    for name in kept:
        del os.environ[name]
    os.environ.update(variables)
    try:
        yield
    finally:
        for name in variables:
            os.environ.pop(name, None)
        os.environ.update(kept)
