"""The gateway's own paths: the console's files from the package, and `GET /reconcile`, which lets in only an
admin or a service and refuses everyone else before any service is asked (none runs behind this gateway), and
exports when it last ran with each outcome."""

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pay.gateway.app import create_app
from pay.gateway.settings import GatewaySettings
from pay.platform import auth
from pay.platform.supervisor import free_port

from support import serving, token_for


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gateway-console")
    auth.ensure_signing_keys(path / "keys")
    return path


@pytest.fixture
async def gateway(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    # Nothing listens behind it: a call that reached a service would be a 503.
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = GatewaySettings(data_dir=data_dir, service_urls={"bank": nowhere, "money": nowhere})
    async with serving(create_app(settings)) as client:
        yield client


async def last_reconcile_runs(gateway: httpx.AsyncClient) -> dict[str, float]:
    """When the gateway last ran reconcile, by outcome, as its `/metrics` says."""
    text = (await gateway.get("/metrics")).text
    (family,) = (
        f for f in text_string_to_metric_families(text) if f.name == "pay_reconcile_last_run_timestamp_seconds"
    )
    return {sample.labels["outcome"]: sample.value for sample in family.samples}


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html"),
        ("/console/app.js", "text/javascript"),
        ("/console/views/member.js", "text/javascript"),
        ("/console/style.css", "text/css"),
        ("/console/messages/ko.json", "application/json"),
    ],
)
async def test_the_console_is_served_with_its_type_revalidated_and_under_the_content_security_policy(
    gateway: httpx.AsyncClient, path: str, content_type: str
) -> None:
    response = await gateway.get(path)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(content_type)
    assert response.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    again = await gateway.get(path, headers={"If-None-Match": response.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")


async def test_the_page_loads_only_its_own_module_script(gateway: httpx.AsyncClient) -> None:
    page = (await gateway.get("/")).text

    assert '<script type="module" src="/console/app.js"></script>' in page
    assert "<script>" not in page and " style=" not in page


@pytest.mark.parametrize("path", ["/console/missing.js", "/console/../app.py", "/console/"])
async def test_a_file_the_console_does_not_have_is_404_problem(gateway: httpx.AsyncClient, path: str) -> None:
    response = await gateway.get(path)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_catalogues_say_the_same_things(gateway: httpx.AsyncClient) -> None:
    english = (await gateway.get("/console/messages/en.json")).json()
    korean = (await gateway.get("/console/messages/ko.json")).json()

    assert english.keys() == korean.keys()


async def test_reconcile_without_a_token_is_401(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/reconcile")

    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


async def test_reconcile_for_a_member_is_403_before_any_service_is_asked(
    gateway: httpx.AsyncClient, data_dir: Path
) -> None:
    member = token_for(data_dir, "m-1", auth.Role.MEMBER)
    before = await last_reconcile_runs(gateway)

    response = await gateway.get("/reconcile", headers={"Authorization": f"Bearer {member}"})

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "forbidden"
    assert await last_reconcile_runs(gateway) == before


async def test_reconcile_for_an_admin_asks_the_services_and_says_when_they_do_not_answer(
    gateway: httpx.AsyncClient, data_dir: Path
) -> None:
    admin = token_for(data_dir, "admin-1", auth.Role.ADMIN)
    before = await last_reconcile_runs(gateway)
    asked_at = time.time()

    response = await gateway.get("/reconcile", headers={"Authorization": f"Bearer {admin}"})

    assert response.status_code == 503
    assert response.json()["code"] == "downstream-unavailable"
    assert response.headers["retry-after"] == "1"
    after = await last_reconcile_runs(gateway)
    assert set(after) == {"holds", "in-flight", "breaks", "failed"}
    assert asked_at <= after["failed"] <= time.time()
    assert {outcome: at for outcome, at in after.items() if outcome != "failed"} == {
        outcome: at for outcome, at in before.items() if outcome != "failed"
    }
