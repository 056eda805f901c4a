"""The generated documents in docs/ say what the code does: `pay docs` would change none of them."""

import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import yaml

from pay.cli import SERVED
from pay.contracts.messages import Message
from pay.docs import documents as docs
from pay.docs.apps import composed_apps
from pay.docs.asyncapi import message_types
from pay.docs.settings_reference import settings_classes
from pay.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI_SCHEMA = Path(__file__).parent / "asyncapi" / "asyncapi-3.0.0.schema.json"


@pytest.fixture(scope="module")
def generated() -> dict[Path, str]:
    return docs.documents(ROOT, SERVED)


@pytest.fixture(scope="module")
def asyncapi(generated: dict[Path, str]) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(generated[docs.ASYNCAPI])
    return document


def test_every_generated_document_is_committed_as_the_code_makes_it(generated: dict[Path, str]) -> None:
    stale = [str(path) for path, text in generated.items() if (ROOT / path).read_text(encoding="utf-8") != text]
    assert not stale, f"run `./pay docs`: {stale} differ from the code"


def test_the_api_reference_holds_a_document_for_each_service_that_serves_one(generated: dict[Path, str]) -> None:
    committed = {path.relative_to(ROOT) for path in (ROOT / docs.API).glob("*.json")}
    assert committed == {path for path in generated if path.suffix == ".json"}
    assert committed == {docs.API / f"{name}.json" for name in SERVED if name != "gateway"}


async def test_an_api_document_is_what_the_service_serves_at_its_openapi_path(generated: dict[Path, str]) -> None:
    with composed_apps(SERVED) as apps:
        for name, app in apps.items():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
                served = await client.get("/openapi.json")
            if name == "gateway":
                assert served.status_code != 200
            else:
                assert served.json() == json.loads(generated[docs.API / f"{name}.json"]), name
    money = json.loads(generated[docs.API / "money.json"])
    assert "Idempotency-Key" in json.dumps(money["paths"]["/money/transfer"]["post"]["parameters"])


def test_the_index_names_each_service_its_port_and_live_docs(generated: dict[Path, str]) -> None:
    index = generated[docs.API / "README.md"]
    assert "| money | 8083 | [Pay money](money.json) | http://127.0.0.1:8083/docs |" in index
    assert "| gateway | 8080 | none of its own | — |" in index


def test_the_asyncapi_document_is_valid_asyncapi_3(asyncapi: dict[str, Any]) -> None:
    validator = jsonschema_rs.validator_for(json.loads(ASYNCAPI_SCHEMA.read_text(encoding="utf-8")))
    assert [error.message for error in validator.iter_errors(asyncapi)] == []
    assert asyncapi["asyncapi"] == "3.0.0"


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_reference_in_the_asyncapi_document_resolves_within_it(asyncapi: dict[str, Any]) -> None:
    refs = set(_refs(asyncapi))
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        node: Any = asyncapi
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]


def test_every_message_of_the_contracts_has_its_channel_a_sender_and_a_listener(asyncapi: dict[str, Any]) -> None:
    types = message_types()
    assert {message_type.subject for message_type in types} == set(asyncapi["channels"])
    for message_type in types:
        actions = {
            operation["action"]
            for operation in asyncapi["operations"].values()
            if operation["channel"]["$ref"] == f"#/channels/{message_type.subject}"
        }
        assert actions == {"send", "receive"}, message_type.subject


def test_the_senders_and_listeners_are_read_from_the_services(asyncapi: dict[str, Any]) -> None:
    operations = asyncapi["operations"]
    assert "money.receive.TransferBetweenWallets" in operations
    assert "remittance.send.TransferBetweenWallets" in operations
    assert "payment.send.PaymentApproved" in operations  # built by a class chosen first, then called
    assert "franchise.receive.PaymentApproved" in operations
    assert not [name for name in operations if name.startswith(("gateway.", "bank."))]


def test_a_message_schema_is_the_one_its_model_validates(asyncapi: dict[str, Any]) -> None:
    schemas = asyncapi["components"]["schemas"]
    for message_type in message_types():
        assert set(schemas[message_type.__name__]["properties"]) == {
            field.alias or name for name, field in message_type.model_fields.items()
        }
        assert set(Message.model_fields) <= set(message_type.model_fields)


def test_every_setting_says_what_it_means() -> None:
    for declared in [Settings, *settings_classes(SERVED).values()]:
        # A service's class names its service again: that is no setting of its own.
        own = inspect.get_annotations(declared).keys() - ({"service"} if declared is not Settings else set())
        unexplained = [name for name in own if not declared.model_fields[name].description]
        assert not unexplained, f"{declared.__name__}: {unexplained}"


def test_the_settings_reference_has_its_place_in_the_operations_guide() -> None:
    with pytest.raises(docs.MissingSection):
        docs.with_settings_reference("# Operating Pay\n", SERVED)
    guide = docs.with_settings_reference(f"intro\n{docs.SETTINGS_BEGIN}\nold\n{docs.SETTINGS_END}\nafter\n", SERVED)
    assert guide.startswith(f"intro\n{docs.SETTINGS_BEGIN}\n\n### Every service\n")
    assert "| `PAY_REMITTANCE_DAILY_LIMIT` | `2000000` | Most won a member may send in one business day |" in guide
    assert "\nold\n" not in guide and guide.endswith(f"{docs.SETTINGS_END}\nafter\n")


def test_writing_the_documents_puts_each_in_place_once_and_removes_a_gone_services(tmp_path: Path) -> None:
    (tmp_path / docs.OPERATIONS).parent.mkdir(parents=True)
    (tmp_path / docs.OPERATIONS).write_text(f"# Operating Pay\n{docs.SETTINGS_BEGIN}\n{docs.SETTINGS_END}\n")
    (tmp_path / docs.API).mkdir()
    (tmp_path / docs.API / "retired.json").write_text("{}\n")

    written = docs.write(tmp_path, SERVED)

    assert docs.API / "retired.json" in written and not (tmp_path / docs.API / "retired.json").exists()
    assert {docs.ASYNCAPI, docs.OPERATIONS, docs.API / "README.md", docs.API / "money.json"} <= set(written)
    assert docs.write(tmp_path, SERVED) == []
