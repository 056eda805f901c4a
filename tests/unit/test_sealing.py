"""Secrets at rest: sealed under a key made once into the data directory, each bound to its row."""

import base64
import os
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from pay.platform.sealing import Sealer


def test_a_sealed_value_opens_only_for_the_row_it_was_sealed_for(tmp_path: Path) -> None:
    sealer = Sealer.from_key(None, tmp_path / "keys" / "test.key")
    sealed = sealer.seal(b"whsec_abc", "franchise-1")
    assert b"whsec_abc" not in sealed and sealed != sealer.seal(b"whsec_abc", "franchise-1")
    assert sealer.open(sealed, "franchise-1") == b"whsec_abc"
    with pytest.raises(InvalidTag):
        sealer.open(sealed, "franchise-2")


def test_the_key_is_made_once_readable_by_its_owner_only_or_given_in_the_environment(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "test.key"
    sealed = Sealer.from_key(None, key_file).seal(b"x", "row")
    assert Sealer.from_key(None, key_file).open(sealed, "row") == b"x"
    assert key_file.stat().st_mode & 0o777 == 0o600
    given = base64.b64encode(os.urandom(32)).decode()
    from_environment = Sealer.from_key(given, tmp_path / "unused.key")
    assert from_environment.open(from_environment.seal(b"y", "row"), "row") == b"y"
    assert not (tmp_path / "unused.key").exists()
