"""Secrets at rest and credentials: AES-GCM email encryption with a blind index, argon2, JWTs."""

import asyncio
import hashlib
import hmac
import os
from datetime import timedelta

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError

from pay.membership.domain.model import Role, email_key
from pay.platform import auth
from pay.platform.sealing import Sealer


class EmailVault:
    """Emails are stored encrypted (AES-256-GCM, random nonce, bound to the member's id) and found
    through a keyed blind index, so the database never holds a readable or guessable address."""

    def __init__(self, encryption_key: bytes, index_key: bytes) -> None:
        self._sealer = Sealer(encryption_key)
        self._index_key = index_key

    def encrypt(self, email: str, membership_id: str) -> bytes:
        return self._sealer.seal(email.encode(), membership_id)

    def decrypt(self, sealed: bytes, membership_id: str) -> str:
        return self._sealer.open(sealed, membership_id).decode()

    def index(self, email: str) -> bytes:
        return hmac.new(self._index_key, email_key(email).encode(), hashlib.sha256).digest()


class Argon2Passwords:
    """argon2id; hashing runs in a worker thread so it never stalls the event loop."""

    def __init__(self) -> None:
        self._hasher = Argon2Hasher()
        self._decoy = self._hasher.hash(os.urandom(16).hex())

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._decoy, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False


class JwtAccessTokens:
    def __init__(self, issuer: auth.TokenIssuer, verifier: auth.TokenVerifier, ttl: timedelta) -> None:
        self._issuer = issuer
        self._verifier = verifier
        self.ttl_seconds = int(ttl.total_seconds())

    def issue(self, membership_id: str, role: Role) -> str:
        return self._issuer.issue(membership_id, auth.Role(role.value))

    def subject_of(self, token: str) -> str | None:
        try:
            principal = self._verifier.verify(token)
        except auth.InvalidToken:
            return None
        return principal.subject if principal.role is not auth.Role.SERVICE else None
