"""Prometheus scrapes every model server and loads its alert rules; Grafana has its dashboards.

Asked through their own HTTP APIs at their units' addresses (cluster.py says
why): prometheus-k8s on 9090, grafana-k8s on 3000 with the admin password its
`get-admin-password` action gives. Only the model servers that serve are
expected there: a charm whose configuration is invalid (autogluon without a
model) publishes no scrape job, rules or dashboards until it is fixed.
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from model_server_charm.observability.dashboards import dashboard
from model_server_charm.observability.rules import rule_file_text
from scripts.render_charms import charm_name
from tests.integration import product
from tests.integration.cluster import get_json, poll, run_action, unit_address, units

if TYPE_CHECKING:
    from pytest_operator.plugin import OpsTest

pytestmark = pytest.mark.usefixtures("bundle")

PROMETHEUS_PORT = 9090
GRAFANA_PORT = 3000
# prometheus-k8s scrapes every minute and reloads its rules when a relation changes.
SCRAPE_TIMEOUT_SECONDS = 5 * 60
GRAFANA_TIMEOUT_SECONDS = 5 * 60


async def _prometheus(ops_test: OpsTest) -> str:
    return f"http://{await unit_address(ops_test, f'{product.PROMETHEUS}/0')}:{PROMETHEUS_PORT}"


async def _target_health(prometheus: str) -> dict[str, str]:
    """Each model-server unit's scrape target: its health, and the error of a failed scrape."""
    document = await get_json(f"{prometheus}/api/v1/targets?state=active")
    return {
        target["labels"]["juju_unit"]: " ".join([target["health"], target["lastError"]]).strip()
        for target in document["data"]["activeTargets"]
        if target["labels"].get("juju_application") in product.SERVING
    }


async def test_every_scrape_target_of_every_model_server_is_up(ops_test: OpsTest):
    prometheus = await _prometheus(ops_test)
    expected = {unit.name: "up" for app in product.SERVING for unit in units(ops_test, app)}
    health = await poll(
        lambda: _target_health(prometheus),
        lambda found: (
            found.keys() == expected.keys()
            and not any(value.startswith("unknown") for value in found.values())
        ),
        SCRAPE_TIMEOUT_SECONDS,
    )
    assert health == expected


def _alert_names(rule_files: tuple[str, ...]) -> set[str]:
    documents = [yaml.safe_load(rule_file_text(name)) for name in rule_files]
    return {
        rule["alert"] for doc in documents for group in doc["groups"] for rule in group["rules"]
    }


async def _loaded_alerts(prometheus: str) -> dict[str, set[str]]:
    document = await get_json(f"{prometheus}/api/v1/rules?type=alert")
    loaded: dict[str, set[str]] = {}
    for group in document["data"]["groups"]:
        for rule in group["rules"]:
            app = rule["labels"].get("juju_application")
            if app in product.SERVING:
                loaded.setdefault(app, set()).add(rule["name"])
    return loaded


async def test_every_model_servers_alert_rules_are_loaded(ops_test: OpsTest):
    prometheus = await _prometheus(ops_test)
    runtimes = {app: product.MODEL_SERVERS[app] for app in product.SERVING}
    expected = {app: _alert_names(runtime.alert_rules) for app, runtime in runtimes.items()}
    loaded = await poll(
        lambda: _loaded_alerts(prometheus), expected.__eq__, SCRAPE_TIMEOUT_SECONDS
    )
    assert loaded == expected


async def _dashboard_titles(grafana: str, auth: tuple[str, str]) -> dict[str, set[str]]:
    """The titles of the dashboards tagged with each serving charm's name."""
    titles: dict[str, set[str]] = {}
    for app in product.SERVING:
        charm = charm_name(product.MODEL_SERVERS[app])
        query = urllib.parse.urlencode({"type": "dash-db", "tag": f"charm: {charm}"})
        found: list[dict[str, Any]] = await get_json(f"{grafana}/api/search?{query}", auth)
        titles[charm] = {item["title"] for item in found}
    return titles


async def test_every_dashboard_the_charms_publish_is_in_grafana(ops_test: OpsTest):
    outcome = await run_action(ops_test, f"{product.GRAFANA}/0", "get-admin-password")
    assert outcome.status == "completed", outcome.message
    auth = ("admin", str(outcome.results["admin-password"]))
    grafana = f"http://{await unit_address(ops_test, f'{product.GRAFANA}/0')}:{GRAFANA_PORT}"
    expected = {
        charm_name(runtime): {
            dashboard(name, charm_name(runtime))["title"] for name in runtime.dashboards
        }
        for runtime in (product.MODEL_SERVERS[app] for app in product.SERVING)
    }
    titles = await poll(
        lambda: _dashboard_titles(grafana, auth), expected.__eq__, GRAFANA_TIMEOUT_SECONDS
    )
    assert titles == expected
