"""The Grafana dashboard and the Prometheus alert rules name only metrics the running services export.

Money (requests, latency, outbox, sagas), money-query (the query side's lag), banking (its breaker to the bank)
and the gateway (reconcile's outcomes) run in this process against real PostgreSQL and NATS, with nothing where
their downstreams should be: a recharge whose banking does not answer keeps a saga waiting for its timer, a bank
that does not answer opens banking's breaker, and a reconcile whose services do not answer fails, so each figure
is there to read, and read from the service that exports it.
"""

import asyncio
import json
import re
import uuid
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from pay.banking.app import create_app as create_banking
from pay.banking.settings import BankingSettings
from pay.gateway.app import create_app as create_gateway
from pay.gateway.settings import GatewaySettings
from pay.money.app import create_app as create_money
from pay.money.settings import MoneySettings
from pay.money_query.app import create_app as create_money_query
from pay.money_query.settings import MoneyQuerySettings
from pay.platform import auth
from pay.platform.infra import EmbeddedPostgres

from banking_support import BANK
from support import provision, serving, settings_for, token_for

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "pay-services.json"
ALERTS = ROOT / "deploy" / "prometheus" / "pay-alerts.yaml"
METRIC = re.compile(r"\bpay_[a-z_]+\b")
# Nothing listens there: the recharge's account check is retried on the saga's timer.
NOBODY = "http://127.0.0.1:9"


def _rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def _used() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    expressions += [variable["query"] for variable in dashboard["templating"]["list"] if variable["type"] == "query"]
    expressions += [rule["expr"] for rule in _rules()]
    return {name for expression in expressions for name in METRIC.findall(expression)}


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


async def test_every_metric_the_dashboard_and_alerts_use_is_exported(
    pg: EmbeddedPostgres, nats_url: str, tmp_path: Path
) -> None:
    money_settings = settings_for(
        MoneySettings,
        await provision(pg, "pay.money", f"money_{uuid.uuid4().hex[:8]}"),
        nats_url,
        tmp_path,
        service_urls={"banking": NOBODY},
        saga_retry_first_seconds=0.2,
    )
    query_settings = settings_for(
        MoneyQuerySettings,
        await provision(pg, "pay.money_query", f"money_query_{uuid.uuid4().hex[:8]}"),
        nats_url,
        tmp_path,
    )
    banking_settings = settings_for(
        BankingSettings,
        await provision(pg, "pay.banking", f"banking_{uuid.uuid4().hex[:8]}"),
        nats_url,
        tmp_path,
        service_token=token_for(tmp_path, "banking", auth.Role.SERVICE),
        service_urls={"bank": NOBODY, "membership": NOBODY},
        # One call the bank does not answer opens the circuit.
        bank_attempts=1,
        bank_breaker_threshold=1,
    )
    gateway_settings = GatewaySettings(
        data_dir=tmp_path, service_urls=dict.fromkeys(["bank", "money", "remittance", "payment", "settlement"], NOBODY)
    )
    async with (
        serving(create_money(money_settings)) as money,
        serving(create_money_query(query_settings)) as query,
        serving(create_banking(banking_settings)) as banking,
        serving(create_gateway(gateway_settings)) as gateway,
    ):
        member = str(uuid.uuid4())
        headers = {"Authorization": f"Bearer {token_for(tmp_path, member, auth.Role.MEMBER)}"}
        created = await money.post("/money/create-member-money", json={"membershipId": member}, headers=headers)
        assert created.status_code == 201, created.text
        recharge = await money.post(
            "/money/increase-async", json={"targetMembershipId": member, "amount": 10_000}, headers=headers
        )
        assert recharge.status_code == 202, recharge.text
        assert (await query.get("/health/live")).status_code == 200
        service = {"Authorization": f"Bearer {token_for(tmp_path, 'money', auth.Role.SERVICE)}"}
        confirmed = await banking.get(f"/banking/bank-account/{BANK}/110-1", headers=service)
        assert confirmed.status_code == 503, confirmed.text
        admin = {"Authorization": f"Bearer {token_for(tmp_path, 'admin-1', auth.Role.ADMIN)}"}
        reconciled = await gateway.get("/reconcile", headers=admin)
        assert reconciled.status_code == 503, reconciled.text
        for _ in range(100):
            money_exported = _samples((await money.get("/metrics")).text)
            if any(labels["kind"] == "recharge" for labels, _ in money_exported.get("pay_sagas_scheduled", [])):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the recharge saga waiting for its timer was never counted")
        by_service = {
            "money": money_exported,
            "money-query": _samples((await query.get("/metrics")).text),
            "banking": _samples((await banking.get("/metrics")).text),
            "gateway": _samples((await gateway.get("/metrics")).text),
        }
    assert by_service["banking"]["pay_bank_breaker_open"] == [({}, 1.0)]
    reconciled_at = {
        labels["outcome"]: at for labels, at in by_service["gateway"]["pay_reconcile_last_run_timestamp_seconds"]
    }
    assert reconciled_at["failed"] > 0
    used = _used()
    assert {
        "pay_sagas_scheduled",
        "pay_outbox_oldest_pending_age_seconds",
        "pay_money_query_lag_seconds",
        "pay_bank_breaker_open",
        "pay_reconcile_last_run_timestamp_seconds",
    } <= used
    exported = {name for samples in by_service.values() for name in samples}
    assert used <= exported, sorted(used - exported)


def test_every_alert_rule_is_complete() -> None:
    (group,) = yaml.safe_load(ALERTS.read_text())["groups"]
    assert group["name"] == "pay"
    for rule in group["rules"]:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert {"summary", "description"} <= set(rule["annotations"])
        assert METRIC.search(rule["expr"]), rule["alert"]
