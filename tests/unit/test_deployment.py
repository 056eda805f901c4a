"""The deployment artefacts (compose.yaml, the Kustomize base and its local overlay) run what `pay up` runs.

No Docker engine or cluster is at hand, so they are checked here statically: every Kubernetes object against the
API's schema (`kubernetes-validate`, whose schemas ship in the wheel), and every service, command, port, probe
and secret against the code that `pay up` and the services run.
"""

import base64
import importlib
import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from pay.cli import GATEWAY, RECONCILE_JOB, SERVED, SERVICES, app
from pay.contracts.topology import DEFAULT_PORTS
from pay.platform.serve import GRACEFUL_SHUTDOWN_SECONDS
from pay.platform.settings import FILE_SUFFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
BASE, LOCAL = KUBERNETES / "base", KUBERNETES / "overlays" / "local"
SCALED = {"money", "payment", "gateway"}
BANK = "bank"
Manifest = dict[str, Any]


def render(directory: Path) -> list[Manifest]:
    """What `kustomize build` gives, for the features these kustomizations use: resources (files and
    directories), generated ConfigMaps (literals, `behavior: merge`) and Secrets (files, read by name only:
    their contents are the operator's and absent here), `namespace` and `images`. Generated names get no hash
    suffix here; kustomize adds one and rewrites the references to it."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    objects: list[Manifest] = []
    for resource in kustomization.get("resources", []):
        path = directory / resource
        objects += render(path) if path.is_dir() else [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    for generator in kustomization.get("configMapGenerator", []):
        data = dict(literal.split("=", 1) for literal in generator["literals"])
        existing = next(
            (o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == generator["name"]), None
        )
        if generator.get("behavior") == "merge":
            assert existing is not None, f"nothing to merge {generator['name']} into"
            existing["data"].update(data)
        else:
            objects.append(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data}
            )
    for generator in kustomization.get("secretGenerator", []):
        keys = [entry.split("=", 1)[0] if "=" in entry else Path(entry).name for entry in generator["files"]]
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": generator["name"]},
                "data": dict.fromkeys(keys, base64.b64encode(b"").decode()),
            }
        )
    for manifest in objects:
        if "namespace" in kustomization and manifest["kind"] != "Namespace":
            manifest["metadata"]["namespace"] = kustomization["namespace"]
        for image in kustomization.get("images", []):
            for container in _pod_spec(manifest).get("containers", []):
                if container["image"] == image["name"]:
                    container["image"] = f"{image['newName']}:{image['newTag']}"
    return objects


def _pod_spec(manifest: Manifest) -> Manifest:
    spec: Manifest = manifest.get("spec", {}).get("template", {}).get("spec", {})
    return spec


def _of_kind(objects: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _pay_container(manifest: Manifest) -> Manifest:
    (container,) = _pod_spec(manifest)["containers"]
    return dict(container)


@pytest.fixture(scope="module")
def local() -> list[Manifest]:
    return render(LOCAL)


@pytest.fixture(scope="module")
def base() -> list[Manifest]:
    return render(BASE)


@pytest.mark.parametrize("overlay", [BASE, LOCAL], ids=["base", "local"])
def test_every_object_is_valid_for_the_kubernetes_api(overlay: Path) -> None:
    version = kubernetes_validate.latest_version()
    for manifest in render(overlay):
        kubernetes_validate.validate(manifest, version, strict=True)


def test_the_local_overlay_runs_every_service_pay_up_runs_with_its_command_and_port(local: list[Manifest]) -> None:
    deployments, services, jobs = _of_kind(local, "Deployment"), _of_kind(local, "Service"), _of_kind(local, "Job")
    for service in SERVED:
        container = _pay_container(deployments[service])
        assert container["args"] == ["serve", service]
        assert container["ports"] == [{"name": "http", "containerPort": DEFAULT_PORTS[service]}]
        assert [port["port"] for port in services[service]["spec"]["ports"]] == [DEFAULT_PORTS[service]]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["resources"]["limits"]["memory"]
    assert {name.removeprefix("migrate-") for name in jobs} == set(SERVICES)
    for service in SERVICES:
        assert _pay_container(jobs[f"migrate-{service}"])["args"] == ["migrate", service]
    assert set(_of_kind(local, "HorizontalPodAutoscaler")) == SCALED
    assert set(_of_kind(local, "PodDisruptionBudget")) == set(SERVED)


def test_the_bank_simulator_is_only_in_the_local_overlay(base: list[Manifest], local: list[Manifest]) -> None:
    assert all(o["metadata"]["name"] not in (BANK, f"migrate-{BANK}") for o in base)
    in_base = json.loads(_of_kind(base, "ConfigMap")["pay-config"]["data"]["PAY_SERVICE_URLS"])
    in_local = json.loads(_of_kind(local, "ConfigMap")["pay-config"]["data"]["PAY_SERVICE_URLS"])
    assert in_base == {service: f"http://{service}:{DEFAULT_PORTS[service]}" for service in SERVICES if service != BANK}
    assert in_local == {**in_base, BANK: f"http://{BANK}:{DEFAULT_PORTS[BANK]}"}
    assert set(_of_kind(base, "Deployment")) == set(SERVED) - {BANK}


def test_a_pod_is_given_time_to_stop_gracefully(local: list[Manifest]) -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    for service, deployment in _of_kind(local, "Deployment").items():
        if service not in SERVED:
            continue
        pre_stop = _pay_container(deployment)["lifecycle"]["preStop"]["sleep"]["seconds"]
        grace = _pod_spec(deployment)["terminationGracePeriodSeconds"]
        # The endpoint is removed while preStop sleeps; then uvicorn's wait for requests in flight; then the
        # consumers stop and the outbox is flushed, which needs a few seconds more.
        assert grace >= pre_stop + GRACEFUL_SHUTDOWN_SECONDS + 5
        assert compose["services"][service]["stop_grace_period"] == f"{grace}s"


def test_only_the_gateway_takes_traffic_from_outside(local: list[Manifest]) -> None:
    policies = _of_kind(local, "NetworkPolicy")
    assert policies["pay-default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    for name, policy in policies.items():
        for rule in policy["spec"].get("ingress", []):
            if "from" not in rule:
                assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == GATEWAY, name
    for deployment in _of_kind(local, "Deployment").values():
        assert deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "pay"


def _settings_class(service: str) -> type[Settings]:
    module = importlib.import_module(f"{SERVED[service]}.settings")
    (settings,) = (
        value
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, Settings) and value is not Settings
    )
    return settings


def _setting_of(variable: str) -> str:
    return variable.removeprefix("PAY_").removesuffix(FILE_SUFFIX).lower()


def test_every_secret_file_a_pod_reads_names_a_setting_and_is_mounted_from_a_generated_secret(
    local: list[Manifest],
) -> None:
    secrets = {name: set(secret["data"]) for name, secret in _of_kind(local, "Secret").items()}
    for kind in ("Deployment", "Job"):
        for manifest in _of_kind(local, kind).values():
            if manifest["metadata"]["labels"].get("app.kubernetes.io/name") not in SERVED:
                continue
            service = manifest["metadata"]["labels"]["app.kubernetes.io/name"]
            container = _pay_container(manifest)
            (mount,) = (m for m in container["volumeMounts"] if m["name"] == "secrets")
            (volume,) = (v for v in _pod_spec(manifest)["volumes"] if v["name"] == "secrets")
            # A Job's secret volume is a plain one: kustomize renames generated Secrets there, not in projections.
            sources = (
                [(source["secret"]["name"], source["secret"]["items"]) for source in volume["projected"]["sources"]]
                if kind == "Deployment"
                else [(volume["secret"]["secretName"], volume["secret"]["items"])]
            )
            mounted = set()
            for secret, items in sources:
                for item in items:
                    assert item["key"] in secrets[secret], (service, item)
                    mounted.add(f"{mount['mountPath']}/{item['path']}")
            files = {v["name"]: v["value"] for v in container["env"] if v["name"].endswith(FILE_SUFFIX)}
            assert set(files.values()) == mounted, service
            assert {_setting_of(variable) for variable in files} <= set(_settings_class(service).model_fields)


def test_a_cronjob_has_the_gateway_reconcile_hourly_with_a_token_of_its_own(local: list[Manifest]) -> None:
    (cronjob,) = _of_kind(local, "CronJob").values()
    minute, hour, *_ = cronjob["spec"]["schedule"].split()
    assert minute.isdigit() and hour == "*"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert f"http://{GATEWAY}:{DEFAULT_PORTS[GATEWAY]}/reconcile" in " ".join(container["args"])
    (mount,) = container["volumeMounts"]
    (volume,) = pod["volumes"]
    assert volume["name"] == mount["name"]
    (item,) = volume["secret"]["items"]
    assert item["key"] == f"{RECONCILE_JOB}.token"
    assert item["key"] in _of_kind(local, "Secret")[volume["secret"]["secretName"]]["data"]
    assert f"{mount['mountPath']}/{item['path']}" in " ".join(container["args"])


def test_pay_keys_writes_every_key_file_the_local_overlay_reads(tmp_path: Path) -> None:
    kustomization = yaml.safe_load((LOCAL / "kustomization.yaml").read_text())
    (keys,) = (g for g in kustomization["secretGenerator"] if g["name"] == "pay-keys")
    assert CliRunner().invoke(app, ["keys", str(tmp_path)]).exit_code == 0
    assert {Path(entry).name for entry in keys["files"]} <= {path.name for path in tmp_path.iterdir()}


def test_compose_runs_every_service_pay_up_runs_with_its_command_port_and_secrets() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services, declared = compose["services"], set(compose["secrets"])
    urls = json.loads(compose["x-environment"]["PAY_SERVICE_URLS"])
    assert urls == {service: f"http://{service}:{DEFAULT_PORTS[service]}" for service in SERVICES}
    for service in SERVED:
        definition = services[service]
        assert definition["command"] == ["serve", service]
        assert definition["restart"] == "unless-stopped"
        assert f"http://127.0.0.1:{DEFAULT_PORTS[service]}/health/ready" in " ".join(definition["healthcheck"]["test"])
        given = set(definition.get("secrets", []))
        assert given <= declared
        for variable, value in definition["environment"].items():
            if variable.endswith(FILE_SUFFIX):
                assert value.removeprefix("/run/secrets/") in given, (service, variable)
                assert _setting_of(variable) in _settings_class(service).model_fields, (service, variable)
    for service in SERVICES:
        migration = services[f"migrate-{service}"]
        assert migration["command"] == ["migrate", service]
        assert services[service]["depends_on"][f"migrate-{service}"]["condition"] == "service_completed_successfully"
    assert services[GATEWAY]["ports"] == [f"${{PAY_GATEWAY_PORT:-8080}}:{DEFAULT_PORTS[GATEWAY]}"]


def test_the_image_installs_the_lock_and_runs_pay_as_a_user_with_no_secret_inside() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = [line.split(maxsplit=1) for line in dockerfile.replace("\\\n", " ").splitlines()]
    instructions = [parts for parts in instructions if parts and not parts[0].startswith("#")]
    stages = [index for index, (instruction, *_) in enumerate(instructions) if instruction == "FROM"]
    assert len(stages) >= 2
    runtime = instructions[stages[-1] :]
    (user,) = (argument for instruction, argument in runtime if instruction == "USER")
    assert user.split(":")[0] not in {"0", "root"}
    assert ["ENTRYPOINT", '["pay"]'] in runtime
    assert "uv sync --frozen --no-dev" in dockerfile
    settings = [argument for instruction, argument in instructions if instruction in {"ENV", "ARG"}]
    assert not [s for s in settings if re.search(r"KEY|TOKEN|PASSWORD|SECRET", s)]
    # The build context is only what the image is built from: no data directory, key or local secret.
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ignored[ignored.index("*") + 1 :][:4] == ["!pyproject.toml", "!uv.lock", "!README.md", "!src/"]
