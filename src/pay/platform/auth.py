"""JWT authentication: asymmetric keys, so services verify with the public key only.

Roles: `member` (acts for itself), `admin` and `service` (act for anyone).
"""

import os
import secrets
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from starlette.types import Scope

from pay.platform.problems import Problem

ISSUER = "pay"
ALGORITHM = "EdDSA"
PRIVATE_KEY_FILE = "jwt-private.pem"
PUBLIC_KEY_FILE = "jwt-public.pem"


class Role(StrEnum):
    MEMBER = "member"
    ADMIN = "admin"
    SERVICE = "service"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role

    @property
    def is_privileged(self) -> bool:
        return self.role in (Role.ADMIN, Role.SERVICE)

    def may_act_for(self, membership_id: str) -> bool:
        return self.is_privileged or self.subject == membership_id


class InvalidToken(Exception):
    pass


def write_secret_file(path: Path, content: bytes) -> None:
    """Create a file readable by its owner only, atomically, never overwriting one that exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def load_or_create_secret(path: Path, size: int = 32) -> bytes:
    if not path.exists():
        write_secret_file(path, secrets.token_bytes(size))
    return path.read_bytes()


def ensure_signing_keys(keys_dir: Path) -> None:
    """Generate the Ed25519 signing key pair on first start; later starts reuse it."""
    private_path = keys_dir / PRIVATE_KEY_FILE
    if not private_path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write_secret_file(private_path, pem)
    public_path = keys_dir / PUBLIC_KEY_FILE
    if not public_path.exists():
        private_key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
        public_pem = private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        write_secret_file(public_path, public_pem)


def read_private_key(keys_dir: Path, from_environment: SecretStr | None) -> str:
    return from_environment.get_secret_value() if from_environment else (keys_dir / PRIVATE_KEY_FILE).read_text()


def read_public_key(keys_dir: Path, from_environment: str | None) -> str:
    return from_environment or (keys_dir / PUBLIC_KEY_FILE).read_text()


class TokenIssuer:
    def __init__(self, private_key_pem: str, access_ttl: timedelta) -> None:
        self._key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        self._access_ttl = access_ttl

    def issue(self, subject: str, role: Role, ttl: timedelta | None = None) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": subject,
            "role": role.value,
            "iat": now,
            "exp": now + (ttl or self._access_ttl),
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)  # type: ignore[arg-type]


class TokenVerifier:
    """Checks signature, issuer and expiry; remembers tokens it already verified until they expire.

    A client presents the same access token for up to 15 minutes, and a signature check costs more
    than the rest of authentication together.
    """

    def __init__(self, public_key_pem: str, remembered: int = 10_000) -> None:
        self._key = serialization.load_pem_public_key(public_key_pem.encode())
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._remembered = remembered

    def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None and known[1] > time.time():
            return known[0]
        try:
            claims = jwt.decode(
                token,
                self._key,  # type: ignore[arg-type]
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
            principal = Principal(subject=str(claims["sub"]), role=Role(str(claims.get("role", ""))))
        except (jwt.PyJWTError, ValueError) as error:
            raise InvalidToken(str(error)) from error
        self._verified[token] = (principal, float(claims["exp"]))
        if len(self._verified) > self._remembered:
            self._verified.popitem(last=False)
        return principal


_bearer = HTTPBearer(auto_error=False, description="An access token from POST /membership/login")

UNAUTHENTICATED_HEADERS = {"WWW-Authenticate": "Bearer"}


# Where a request keeps its verified principal, so that its token is verified once however often it is asked.
_VERIFIED_PRINCIPAL = "pay.principal"


def bearer_principal(scope: Scope, verifier: TokenVerifier | None) -> Principal | None:
    """Who sent the request, by its bearer token: None without a valid one (or a verifier)."""
    known = scope.get(_VERIFIED_PRINCIPAL)
    if isinstance(known, Principal):
        return known
    authorization = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    if verifier is None or scheme.lower() != "bearer" or not token:
        return None
    try:
        principal = verifier.verify(token)
    except InvalidToken:
        return None
    scope[_VERIFIED_PRINCIPAL] = principal
    return principal


# Dependencies are coroutines on purpose: FastAPI runs plain functions in a thread pool, which costs
# more than the work they do.


async def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise Problem(401, "unauthenticated", "Authentication required", headers=UNAUTHENTICATED_HEADERS)
    principal = bearer_principal(request.scope, request.app.state.token_verifier)
    if principal is None:
        raise Problem(401, "invalid-token", "The access token is invalid or expired", headers=UNAUTHENTICATED_HEADERS)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


async def require_privileged(principal: CurrentPrincipal) -> Principal:
    if not principal.is_privileged:
        raise Problem(403, "forbidden", "This operation needs the admin or service role")
    return principal


PrivilegedPrincipal = Annotated[Principal, Depends(require_privileged)]


def ensure_may_act_for(principal: Principal, membership_id: str) -> None:
    if not principal.may_act_for(membership_id):
        raise Problem(403, "forbidden", "A member may act only on its own resources")
