"""Composition root: wires membership's adapters into its use cases and builds the ASGI app."""

import base64
from datetime import UTC, datetime, timedelta
from functools import partial

import structlog
from fastapi import FastAPI

from pay.membership.adapters.db import MembershipUnitOfWork
from pay.membership.adapters.http import ERRORS, router
from pay.membership.adapters.security import Argon2Passwords, EmailVault, JwtAccessTokens
from pay.membership.application import use_cases
from pay.membership.settings import MembershipSettings
from pay.platform import auth, http
from pay.platform.kernel import Kernel

_log = structlog.get_logger()


def _secret(from_environment: str | None, settings: MembershipSettings, file_name: str) -> bytes:
    if from_environment:
        return base64.b64decode(from_environment)
    return auth.load_or_create_secret(settings.keys_dir / file_name)


def create_app(settings: MembershipSettings | None = None) -> FastAPI:
    settings = settings or MembershipSettings()
    if settings.jwt_private_key is None:
        # Made on first start into the data directory, unless given (a cluster's are made by `pay keys`).
        auth.ensure_signing_keys(settings.keys_dir)
    kernel = Kernel(settings)
    assert kernel.token_verifier is not None
    vault = EmailVault(
        _secret(settings.email_encryption_key, settings, "membership-email.key"),
        _secret(settings.email_index_key, settings, "membership-email-index.key"),
    )
    access_ttl = timedelta(seconds=settings.access_token_ttl_seconds)
    issuer = auth.TokenIssuer(auth.read_private_key(settings.keys_dir, settings.jwt_private_key), access_ttl)
    deps = use_cases.Dependencies(
        uow=partial(MembershipUnitOfWork, kernel.engine, vault, kernel.on_outbox_commit),
        passwords=Argon2Passwords(),
        access_tokens=JwtAccessTokens(issuer, kernel.token_verifier, access_ttl),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        clock=partial(datetime.now, UTC),
    )

    async def prepare_members() -> None:
        left = await use_cases.normalise_stored_emails(deps)
        if left:
            _log.warning("emails_share_a_normal_form", membership_ids=left)
        await use_cases.ensure_admin(deps, settings.admin_email, settings.admin_password.get_secret_value())

    app = http.create_app(
        kernel,
        title="Pay membership",
        description="Members, login and tokens.",
        routers=[router],
        error_map=ERRORS,
        on_startup=[prepare_members],
    )
    app.state.membership = deps
    return app
