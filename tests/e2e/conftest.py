"""The system as a user runs it: `pay up` in a subprocess, driven over HTTP."""

from collections.abc import Iterator

import httpx
import pytest

from system import RunningSystem, running_system


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(tmp_path_factory.mktemp("e2e") / "pay") as running:
        yield running


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client
