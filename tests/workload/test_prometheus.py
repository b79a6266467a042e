"""A real Prometheus scrapes what the charms publish: every dashboard query and alert has data.

For the KServe runtimes the charm runs through Scenario (leader, with
prometheus and grafana related), its databags become the Prometheus
configuration as prometheus-k8s would build it, a real model server started
from the charm's own Pebble layer serves bounded traffic, and then:

- the published job scrapes the server (`up == 1`, topology labels on it);
- every panel query of the published dashboards returns finite data, with the
  Juju topology variables set as Grafana would set them, and every variable
  query offers this unit;
- every alert expression is evaluated: quiet while the server is healthy and
  the threshold is the default, active with a tiny latency threshold, "server
  down" once the server stops, "no metrics" once Prometheus loses the job.

Proteus (no charm yet, no amdinfer-server package) gets the same treatment
from the same code paths, scraping stand-in exporters of amdinfer's metrics
(tests/workload/amdinfer_metrics.py): a healthy unit and a stalled, slow one.
"""

from __future__ import annotations

import json
import math
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from model_server_charm.config import ServerConfig
from model_server_charm.observability import dashboards, metrics, rules
from model_server_charm.runtimes import RUNTIMES
from tests.workload import amdinfer_metrics, prometheus
from tests.workload.published import PROTEUS, panel_queries, substitute

pytestmark = pytest.mark.slow

# Long enough to hold several 1 s scrapes, short enough that traffic just sent is in it.
RATE_INTERVAL = "1m"
SCRAPE_TIMEOUT = 60.0
# Grafana's value of a variable set to "All" (the dashboards' allValue).
ALL = ".*"
VARIABLE_QUERY = re.compile(r"^label_values\((?P<selector>.+), (?P<label>\w+)\)$")


def _finite(result: list[dict[str, Any]]) -> bool:
    return any(math.isfinite(float(sample["value"][1])) for sample in result)


def _units(result: list[dict[str, Any]]) -> set[str]:
    return {sample["metric"].get("juju_unit", "") for sample in result}


def _variables(scrape_metadata: dict[str, str], unit: str) -> dict[str, str]:
    """Grafana's values of the topology variables when one unit is selected."""
    return {
        "juju_model": scrape_metadata["model"],
        "juju_model_uuid": scrape_metadata["model_uuid"],
        "juju_application": scrape_metadata["application"],
        "juju_unit": unit,
    }


def assert_dashboard_has_data(
    server: prometheus.PrometheusServer, dashboard: dict[str, Any], variables: dict[str, str]
) -> None:
    """Every panel query returns at least one finite sample; every variable offers its value."""
    empty: list[str] = []
    for title, expression in panel_queries(dashboard):
        query = substitute(expression, variables, RATE_INTERVAL)
        if not _finite(server.query(query)):
            empty.append(f"{title}: {query}")
    assert not empty, "panel queries without data:\n" + "\n".join(empty)
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        match = VARIABLE_QUERY.match(variable["query"]["query"])
        assert match, variable["query"]["query"]
        selector = substitute(match["selector"], variables, RATE_INTERVAL)
        offered = server.api(f"label/{match['label']}/values", **{"match[]": selector})
        value = variables[variable["name"]]
        assert (value in offered) if value != ALL else offered, (selector, value, offered)


def alert_expressions(app_data: dict[str, str]) -> dict[str, str]:
    """Each published alert's expression, by alert name."""
    document = json.loads(app_data["alert_rules"])
    return {rule["alert"]: rule["expr"] for group in document["groups"] for rule in group["rules"]}


def assert_rules_healthy(server: prometheus.PrometheusServer, expected: int) -> dict[str, Any]:
    """Prometheus loaded `expected` alerting rules and evaluates each without error."""
    groups = server.api("rules", type="alert")["groups"]
    loaded = [rule for group in groups for rule in group["rules"]]
    assert len(loaded) == expected, [rule["name"] for rule in loaded]
    broken = [(rule["name"], rule.get("lastError")) for rule in loaded if rule["health"] != "ok"]
    assert not broken, broken
    return {rule["name"]: rule for rule in loaded}


# --- proteus ---------------------------------------------------------------------


def _port_free_on(*hosts: str) -> int:
    """A port free on every one of `hosts` (loopback addresses: each unit gets its own)."""
    for _ in range(20):
        port = prometheus.free_port()
        try:
            for host in hosts:
                with socket.socket() as probe:
                    probe.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no port free on all of {hosts}")


def test_proteus_dashboard_and_alerts_against_prometheus(tmp_path: Path):
    prometheus.binaries()
    healthy, stalled = "127.0.0.1", "127.0.0.2"
    port = _port_free_on(healthy, stalled)
    # What a proteus charm publishes: the shared job (it depends on the port only) and
    # the proteus rule files, with a threshold between the two units' p99 latencies.
    config = ServerConfig(runtime=RUNTIMES["sklearn"], model_uri="/models", http_port=port)
    topology = dict(PROTEUS.as_dict())
    app_data = {
        "scrape_metadata": json.dumps(topology),
        "scrape_jobs": json.dumps(metrics.scrape_jobs(config)),
        "alert_rules": json.dumps(rules.alert_rules(("server", "proteus"), PROTEUS, 0.5)),
    }
    units = {
        name: {"prometheus_scrape_unit_address": address, "prometheus_scrape_unit_name": name}
        for name, address in (("proteus/0", healthy), ("proteus/1", stalled))
    }
    server = prometheus.PrometheusServer(tmp_path)
    rule_file = prometheus.alert_rules_file(app_data, tmp_path / "rules.yaml")
    server.write_config(prometheus.scrape_configs(app_data, units), [rule_file])
    slow = amdinfer_metrics.Behaviour(
        p50_us=900_000, p90_us=1_500_000, p99_us=2_000_000, stalled=True
    )
    with (
        amdinfer_metrics.serving(healthy, port, amdinfer_metrics.Behaviour()),
        amdinfer_metrics.serving(stalled, port, slow),
        server.running(),
    ):
        selector = 'juju_application="proteus", juju_charm="proteus-server"'
        server.wait_for(
            f"up{{{selector}}} == 1", lambda r: _units(r) == set(units), SCRAPE_TIMEOUT
        )
        worker = f'stage="worker", {selector}'
        server.wait_for(
            f"count_over_time(amdinfer_pipeline_ingress_total{{{worker}}}[1m]) > 3",
            lambda r: _units(r) == set(units),
            SCRAPE_TIMEOUT,
        )
        dashboard = dashboards.dashboard("proteus", "proteus-server")
        # The stalled unit alone has no mean latency (it answers nothing): check "All" too.
        for unit in ("proteus/0", ALL):
            assert_dashboard_has_data(server, dashboard, _variables(topology, unit))
        expressions = alert_expressions(app_data)
        assert set(expressions) == {
            "ModelServerDown",
            "ModelServerMetricsAbsent",
            "ProteusRequestLatencyHigh",
            "ProteusWorkersStalled",
        }
        assert server.query(expressions["ModelServerDown"]) == []
        assert server.query(expressions["ModelServerMetricsAbsent"]) == []
        for alert in ("ProteusRequestLatencyHigh", "ProteusWorkersStalled"):
            assert _units(server.query(expressions[alert])) == {"proteus/1"}, alert
        assert_rules_healthy(server, expected=len(expressions))
        # Pending (their `for` is 5 minutes) for the stalled unit only.
        for alert in ("ProteusRequestLatencyHigh", "ProteusWorkersStalled"):
            active = server.wait_for(f'ALERTS{{alertname="{alert}"}}', bool, SCRAPE_TIMEOUT)
            assert _units(active) == {"proteus/1"}, active
