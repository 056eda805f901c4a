"""The Grafana dashboard and the Prometheus alert rules name only metrics a running service exports.

Money-query is the service asked: besides the kernel's metrics (requests, latency, outbox) it exports the query
side's lag, which the dashboard and an alert read.
"""

import json
import re
from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "deploy" / "grafana" / "pay-services.json"
ALERTS = ROOT / "deploy" / "prometheus" / "pay-alerts.yaml"
METRIC = re.compile(r"\bpay_[a-z_]+\b")


def _expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    queries += [variable["query"] for variable in dashboard["templating"]["list"] if variable["type"] == "query"]
    rules = [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]
    return queries + [rule["expr"] for rule in rules]


async def test_every_metric_the_dashboard_and_alerts_use_is_exported(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).status_code == 200
    exported = {
        sample.name
        for family in text_string_to_metric_families((await client.get("/metrics")).text)
        for sample in family.samples
    }
    used = {name for expression in _expressions() for name in METRIC.findall(expression)}
    assert used, "the dashboard and the rules name no metric"
    assert used <= exported, sorted(used - exported)


def test_every_alert_rule_is_complete() -> None:
    (group,) = yaml.safe_load(ALERTS.read_text())["groups"]
    assert group["name"] == "pay"
    for rule in group["rules"]:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert {"summary", "description"} <= set(rule["annotations"])
        assert METRIC.search(rule["expr"]), rule["alert"]
