"""A real Prometheus scrapes what the charms publish: every dashboard query and alert has data.

For every charm's case (tests/workload/charm_cases.py) whose requests kserve
times, the charm runs through Scenario (leader, with prometheus and grafana
related, the case's options), its databags become the Prometheus
configuration as prometheus-k8s would build it, a real model server started
from the charm's own Pebble layer serves bounded traffic of the case's own
request, and then:

- the published job scrapes the server (`up == 1`, topology labels on it);
- every panel query of the published dashboards returns finite data, with the
  Juju topology variables set as Grafana would set them, and every variable
  query offers this unit;
- every alert expression is evaluated: quiet while the server is healthy and
  the threshold is the default, active with a tiny latency threshold, "server
  down" once the server stops, "no metrics" once no unit is left to scrape.

Proteus gets the same treatment from the same code paths, with two units: a
healthy one, amdinfer-server itself (the stand-in, or with AMDINFER_PREFIX a
real build) answering bounded echo traffic, and a stalled, slow one, a
synthetic exporter of amdinfer's metrics (tests/workload/amdinfer_metrics.py)
whose workers answer nothing, which no CPU-only server can be made to do.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from bench.servers import ServedModel, free_port
from model_server_charm.families import family_for
from model_server_charm.observability import dashboards, metrics, rules
from model_server_charm.runtimes import RUNTIMES
from tests.workload import amdinfer_metrics, prometheus
from tests.workload.amdinfer_run import ECHO_REQUEST, RunningAmdinfer, running_amdinfer
from tests.workload.charm_cases import UNTIMED_OPENAI, CharmCase
from tests.workload.harness import running_server
from tests.workload.published import PROTEUS, panel_queries, publish, substitute

pytestmark = pytest.mark.slow

# Long enough to hold several 1 s scrapes, short enough that traffic just sent is in it.
RATE_INTERVAL = "1m"
SCRAPE_TIMEOUT = 60.0
# Bounded traffic: enough for every stage's histogram, a few seconds of serving.
PREDICT_REQUESTS = 200
TRAFFIC_BATCHES = 10
BATCH_PAUSE_S = 0.5
# The proteus unit's traffic: bounded, steady through the scrapes.
ECHO_REQUESTS = 6000
ECHO_INTERVAL_S = 0.02
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
        port = free_port()
        try:
            for host in hosts:
                with socket.socket() as probe:
                    probe.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no port free on all of {hosts}")


@contextlib.contextmanager
def echo_traffic(amdinfer: RunningAmdinfer) -> Generator[None]:
    """Echo requests every ECHO_INTERVAL_S in the background, at most ECHO_REQUESTS of them."""
    stop = threading.Event()

    def send() -> None:
        for _ in range(ECHO_REQUESTS):
            if stop.wait(ECHO_INTERVAL_S):
                return
            amdinfer.post("/v2/models/echo/infer", ECHO_REQUEST)

    sender = threading.Thread(target=send, name="echo-traffic", daemon=True)
    sender.start()
    try:
        yield
    finally:
        stop.set()
        sender.join()


def test_proteus_dashboard_and_alerts_against_prometheus(tmp_path: Path):
    prometheus.binaries()
    healthy, stalled = "127.0.0.1", "127.0.0.2"
    port = _port_free_on(healthy, stalled)
    # What a proteus charm publishes: the shared job (it depends on the port only) and
    # the proteus rule files, with a threshold between the two units' p99 latencies.
    values = {"model_uri": "/models", "http_port": port}
    config = family_for(RUNTIMES["sklearn"]).config_from(values)
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
        running_amdinfer(tmp_path / "amdinfer", port=port) as amdinfer,
        echo_traffic(amdinfer),
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


# --- KServe runtimes ---------------------------------------------------------------


def _send_batch(client: ServedModel, case: CharmCase, predicts: int) -> int:
    """The case's first request, `predicts` times (through preprocess, predict, postprocess).

    Returns how many were answered.
    """
    example = case.timed_examples[0]
    answered = 0
    for _ in range(predicts):
        answer = client.infer(example.protocol, json.dumps(example.body).encode())
        assert answer.ok, answer
        answered += 1
    return answered


def test_kserve_server_scraped_with_the_published_job(case: CharmCase, tmp_path: Path):
    if not case.timed_examples:
        pytest.skip(f"{case.name}: {UNTIMED_OPENAI}")
    prometheus.binaries()
    charm, runtime = case.charm, case.runtime
    model_dir = tmp_path / "model"
    case.build(model_dir)
    server_stack = contextlib.ExitStack()
    with server_stack:
        server = server_stack.enter_context(
            running_server(
                charm, case.options, model_dir, tmp_path / "server", case.ready_timeout_s
            )
        )
        # The options the server runs with (the harness adds free ports to the case's).
        config = {**case.options, "model-uri": str(model_dir), "http-port": server.port}
        published = publish(charm, config)
        # The same charm with a latency threshold every request exceeds.
        eager = publish(charm, {**config, "latency-alert-threshold": 1e-6})
        app = published.metrics_app
        metadata = json.loads(app["scrape_metadata"])
        unit = published.unit_name
        assert published.metrics_unit["prometheus_scrape_unit_address"] == socket.getfqdn()
        scrape = prometheus.scrape_configs(
            app, {unit: published.metrics_unit}, reachable=lambda _: "127.0.0.1"
        )
        rule_files = [
            prometheus.alert_rules_file(app, tmp_path / "rules.yaml"),
            prometheus.alert_rules_file(eager.metrics_app, tmp_path / "eager-rules.yaml"),
        ]
        prom = prometheus.PrometheusServer(tmp_path / "prometheus")
        prom.directory.mkdir()
        prom.write_config(scrape, rule_files)
        with prom.running():
            topology = ", ".join(
                f'{key}="{value}"' for key, value in prometheus.topology_labels(metadata).items()
            )
            up = prom.wait_for(f"up{{{topology}}}", bool, SCRAPE_TIMEOUT)
            assert [sample["value"][1] for sample in up] == ["1"]
            assert _units(up) == {unit}

            # A first request creates the histograms; rate() shows only what
            # happens after Prometheus has seen them, so the rest is spread
            # over several scrapes, as real traffic would be.
            client = server.client
            answered = _send_batch(client, case, 1)
            prom.wait_for(f"request_predict_seconds_count{{{topology}}}", bool, SCRAPE_TIMEOUT)
            for _ in range(TRAFFIC_BATCHES):
                answered += _send_batch(client, case, PREDICT_REQUESTS // TRAFFIC_BATCHES)
                time.sleep(BATCH_PAUSE_S)
            prom.wait_for(
                f"sum(request_predict_seconds_count{{{topology}}})",
                lambda r: bool(r) and float(r[0]["value"][1]) >= answered,
                SCRAPE_TIMEOUT,
            )
            variables = _variables(metadata, unit)
            assert set(published.dashboards) == {f"file:{name}" for name in runtime.dashboards}
            for dashboard in published.dashboards.values():
                assert_dashboard_has_data(prom, dashboard, variables)
                assert_dashboard_has_data(prom, dashboard, {**variables, "juju_unit": ALL})

            default = alert_expressions(app)
            assert set(default) == {
                "ModelServerDown",
                "ModelServerMetricsAbsent",
                "KServePredictLatencyHigh",
            }
            for alert, expression in default.items():
                assert prom.query(expression) == [], alert  # healthy and fast enough
            latency = prom.query(alert_expressions(eager.metrics_app)["KServePredictLatencyHigh"])
            assert {(s["metric"]["juju_unit"], s["metric"]["model_name"]) for s in latency} == {
                (unit, client.model_name)
            }
            assert_rules_healthy(prom, expected=2 * len(default))
            pending = prom.wait_for(
                'ALERTS{alertname="KServePredictLatencyHigh"}', bool, SCRAPE_TIMEOUT
            )
            assert _units(pending) == {unit}
            (alert,) = [
                alert
                for alert in prom.api("alerts")["alerts"]
                if alert["labels"]["alertname"] == "KServePredictLatencyHigh"
            ]
            assert unit in alert["annotations"]["summary"]
            assert "above 1e-06s" in alert["annotations"]["description"]

            server_stack.close()  # the server stops; Prometheus keeps scraping its address
            down = prom.wait_for(default["ModelServerDown"], bool, SCRAPE_TIMEOUT)
            assert _units(down) == {unit}

            # Every unit gone (scaled to zero): the job is left with no target.
            prom.write_config(prometheus.scrape_configs(app, {}), rule_files)
            prom.reload()
            absent = prom.wait_for(default["ModelServerMetricsAbsent"], bool, SCRAPE_TIMEOUT)
            assert absent[0]["metric"]["juju_application"] == metadata["application"]
