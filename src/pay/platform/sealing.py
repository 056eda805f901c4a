"""Secrets at rest: AES-256-GCM under a key generated at first start into the data directory (or given in the
environment), each sealed value bound to the row it belongs to, so that it cannot be moved to another."""

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pay.platform.auth import load_or_create_secret

_NONCE_SIZE = 12


class Sealer:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @classmethod
    def from_key(cls, from_environment: str | None, key_file: Path) -> "Sealer":
        """The key given base64 in the environment, else the one in `key_file`, created on first start."""
        return cls(base64.b64decode(from_environment) if from_environment else load_or_create_secret(key_file))

    def seal(self, plain: bytes, bound_to: str) -> bytes:
        nonce = os.urandom(_NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, plain, bound_to.encode())

    def open(self, sealed: bytes, bound_to: str) -> bytes:
        return self._aead.decrypt(sealed[:_NONCE_SIZE], sealed[_NONCE_SIZE:], bound_to.encode())
