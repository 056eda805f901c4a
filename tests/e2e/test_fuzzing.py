"""An outside fuzzer against every service of `pay up` (issue 11): schemathesis, from each service's own
OpenAPI document, with a member's token and then the admin's.

Every check schemathesis has must pass but one: `positive_data_acceptance` expects every request its
schema allows to succeed, and Pay refuses some on purpose with a documented 4xx — a transfer to the
same wallet, an amount written `1.0` (money is whole won), a NUL in a string.
"""

import json
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest

from system import RunningSystem, running_system

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 100
SEED = 11
SERVICES = (
    "membership",
    "banking",
    "money",
    "remittance",
    "franchise",
    "payment",
    "settlement",
    "money-query",
    "money-aggregation",
    "notification",
    "bank",
)
# The bank's fault switch would slow or refuse the other runs' bank calls: it is fuzzed on its own, last.
FAULTS = "/bank/faults"
# A stream that is opened never ends: every accepted case would wait for the request timeout.
STREAM = "/notifications/stream"
RUNS = [
    *((service, "member") for service in SERVICES),
    *((service, "admin") for service in SERVICES),
    ("bank-faults", "admin"),
]
# Schemathesis spends a core of its own generating cases, so two runs at once take about half the time
# on a two-core machine and leave the services enough of the other core.
RUNS_AT_ONCE = 2
Run = tuple[str, str]


class Finished(NamedTuple):
    report: Path  # schemathesis's JSON report; its ndjson events are beside it
    returncode: int
    stdout: str


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """A system of its own: what the fuzzer leaves behind (members, accounts, faults) stays out of the other tests."""
    with running_system(tmp_path_factory.mktemp("fuzz") / "pay") as running:
        yield running


@pytest.fixture(scope="module")
def tokens(fuzzed: RunningSystem) -> dict[str, str]:
    membership = f"{fuzzed.url('membership')}/membership"
    email, password = f"fuzz-{uuid.uuid4().hex[:8]}@example.com", "correct-horse-battery"
    with httpx.Client(timeout=10) as http:
        member = {"name": "Fuzz", "email": email, "address": "Seoul", "password": password}
        assert http.post(f"{membership}/register", json=member).status_code == 201
        logins = {
            "member": {"email": email, "password": password},
            "admin": {"email": "admin@pay.local", "password": "pay-admin-local"},
        }
        return {role: http.post(f"{membership}/login", json=body).json()["jwtToken"] for role, body in logins.items()}


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest,
    fuzzed: RunningSystem,
    tokens: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[Run, Future[Finished]]]:
    """The selected runs but the fault switch's, started at once, `RUNS_AT_ONCE` at a time: each test waits
    for its own."""
    test = test_schemathesis_finds_no_server_error_nor_schema_violation.__name__
    selected = [
        (item.callspec.params["service"], item.callspec.params["role"])
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.originalname == test
    ]
    with ThreadPoolExecutor(max_workers=RUNS_AT_ONCE) as pool:
        started = {
            (service, role): pool.submit(
                _schemathesis, fuzzed, service, tokens[role], tmp_path_factory.mktemp(f"{service}-{role}")
            )
            for service, role in selected
            if service != "bank-faults"
        }
        yield started
        for future in started.values():
            future.cancel()


def _schemathesis(fuzzed: RunningSystem, service: str, token: str, folder: Path) -> Finished:
    report = folder / "report.json"
    url = fuzzed.url("bank" if service == "bank-faults" else service)
    where = ["--include-path", FAULTS] if service == "bank-faults" else ["--exclude-path", FAULTS]
    if service == "notification":
        where += ["--exclude-path", STREAM]
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{url}/openapi.json",
        *where,
        *("--header", f"Authorization: Bearer {token}"),
        *("--checks", "all", "--exclude-checks", "positive_data_acceptance"),
        *("--max-examples", str(EXAMPLES_PER_OPERATION), "--seed", str(SEED)),
        *("--request-timeout", "30", "--no-color", "--warnings", "off", "--generation-database", "none"),
        *("--report", "json,ndjson", "--report-json-path", str(report)),
        *("--report-ndjson-path", str(report.with_suffix(".ndjson"))),
    ]
    # In the run's own folder: schemathesis keeps a cache of what it found in its working directory.
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=folder)
    return Finished(report, run.returncode, run.stdout)


def _cases_per_operation(events: Path) -> Counter[str]:
    """How many test cases each operation got outside the stateful phase (which chains operations)."""
    cases: Counter[str] = Counter()
    for line in events.read_text().splitlines():
        scenario = json.loads(line).get("ScenarioFinished")
        if scenario is not None and scenario["phase"] != "stateful":
            cases[scenario["recorder"]["label"]] += len(scenario["recorder"].get("cases") or ())
    return cases


def _operations_with_input(document: dict[str, Any]) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("parameters") or operation.get("requestBody")
    }


@pytest.mark.parametrize(("service", "role"), RUNS, ids=[f"{service}-{role}" for service, role in RUNS])
def test_schemathesis_finds_no_server_error_nor_schema_violation(
    fuzzed: RunningSystem,
    tokens: dict[str, str],
    runs: dict[Run, Future[Finished]],
    tmp_path: Path,
    service: str,
    role: str,
) -> None:
    if service == "bank-faults":
        wait(runs.values())  # alone, once every other run has ended: see FAULTS
        run = _schemathesis(fuzzed, service, tokens[role], tmp_path)
    else:
        run = runs[service, role].result()
    report: dict[str, Any] = json.loads(run.report.read_text())
    operations, cases = report["operations"], report["test_cases"]
    document = httpx.get(f"{fuzzed.url('bank' if service == 'bank-faults' else service)}/openapi.json").json()
    per_operation = _cases_per_operation(run.report.with_suffix(".ndjson"))
    with_input = {label: count for label, count in per_operation.items() if label in _operations_with_input(document)}
    print(  # the figures per run, for `pytest -s tests/e2e/test_fuzzing.py`
        f"\n{service} as {role}: {operations['tested']} operations, {cases['generated']} test cases "
        f"(at least {min(with_input.values())} on each operation with input), "
        f"{cases['with_failures']} failing, {len(report['errors'])} errors"
    )
    assert run.returncode == 0 and report["complete"], run.stdout[-6000:]
    assert operations["tested"] == operations["selected"] > 0
    assert cases["with_failures"] == 0 and not report["failures"] and not report["errors"]
    assert min(with_input.values()) >= EXAMPLES_PER_OPERATION, per_operation


def test_the_fuzzing_created_and_lost_no_money(fuzzed: RunningSystem) -> None:
    with httpx.Client(timeout=10) as http:
        assert http.put(f"{fuzzed.url('bank')}{FAULTS}", json={}).status_code == 200
    reconciled = fuzzed.cli("reconcile")
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
