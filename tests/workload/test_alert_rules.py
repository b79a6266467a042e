"""The alert rules the charms publish, checked and unit-tested with promtool.

`promtool check rules` parses every expression the way Prometheus will;
`promtool test rules` replays synthetic series and shows when each alert
fires. The rules come from running each charm under Scenario.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cosl import JujuTopology

from model_server_charm.observability import dashboards
from tests.charms import KSERVE_CHARMS, PROTEUS, THIN_CHARMS, ThinCharm
from tests.workload import prometheus
from tests.workload.published import MODEL, panel_queries, publish, substitute

MODEL_URI = "/srv/models/iris"


@pytest.fixture(params=THIN_CHARMS, ids=[charm.name for charm in THIN_CHARMS])
def charm(request: pytest.FixtureRequest) -> ThinCharm:
    return request.param


def _published_rules(charm: ThinCharm, directory: Path, **config: Any) -> tuple[Path, str]:
    """The charm's published rules as a file in `directory`, and the publishing unit's name."""
    serving = {"model-uri": MODEL_URI} if "model-uri" in _options(charm) else {}
    published = publish(charm, {**serving, **config})
    directory.mkdir(parents=True, exist_ok=True)
    path = prometheus.alert_rules_file(published.metrics_app, directory / "rules.yaml")
    return path, published.unit_name


def _options(charm: ThinCharm) -> dict[str, Any]:
    return yaml.safe_load((charm.path / "charmcraft.yaml").read_text())["config"]["options"]


def _check(path: Path) -> None:
    result = prometheus.promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def _test(tmp_path: Path, rule_file: Path, cases: list[dict[str, Any]]) -> str:
    """Run `promtool test rules` on `cases`; returns its output for the caller's asserts.

    The rules are tested without their annotations, which promtool would
    otherwise compare word for word: `promtool check rules` parses their
    templates, and the live test (test_prometheus.py) shows them rendered.
    """
    document = yaml.safe_load(rule_file.read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    bare = rule_file.with_suffix(".bare.yaml")
    bare.write_text(yaml.safe_dump(document, sort_keys=False))
    test_file = tmp_path / "test.yaml"
    test_file.write_text(
        yaml.safe_dump({"rule_files": [str(bare)], "evaluation_interval": "1m", "tests": cases})
    )
    result = prometheus.promtool("test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _series(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ", ".join(f'{key}="{value}"' for key, value in labels.items()) + "}"


def _target_labels(topology: JujuTopology, unit: str) -> dict[str, str]:
    """The labels prometheus-k8s gives one unit's scraped series."""
    return {
        "job": "juju_model-server",
        "instance": f"{unit}:8080",
        "juju_model": topology.model,
        "juju_model_uuid": topology.model_uuid,
        "juju_application": topology.application,
        "juju_charm": topology.charm_name or "",
        "juju_unit": unit,
    }


def _charm_topology(charm: ThinCharm) -> JujuTopology:
    return JujuTopology(MODEL.name, MODEL.uuid, charm.name, f"{charm.name}/0", charm.name)


def test_published_rules_pass_promtool_check(charm: ThinCharm, tmp_path: Path):
    prometheus.binaries()
    path, _ = _published_rules(charm, tmp_path)
    _check(path)
    assert yaml.safe_load(path.read_text())["groups"]


def test_server_down_fires_after_five_minutes(charm: ThinCharm, tmp_path: Path):
    prometheus.binaries()
    path, unit = _published_rules(charm, tmp_path)
    topology = _charm_topology(charm)
    labels = _target_labels(topology, unit)
    rule_labels = {"severity": "critical", **topology.label_matcher_dict}
    down = {"alertname": "ModelServerDown", **labels, **rule_labels}
    output = _test(
        tmp_path,
        path,
        [
            {
                "interval": "1m",
                "input_series": [
                    {"series": _series("up", labels), "values": "1 1 0x15"},
                    # Another application's unit: its series must not raise our alert.
                    {
                        "series": _series("up", {**labels, "juju_application": "other"}),
                        "values": "0x17",
                    },
                ],
                "alert_rule_test": [
                    {"eval_time": "1m", "alertname": "ModelServerDown", "exp_alerts": []},
                    # Down since 2m: pending until 7m, then firing.
                    {"eval_time": "6m", "alertname": "ModelServerDown", "exp_alerts": []},
                    {
                        "eval_time": "7m",
                        "alertname": "ModelServerDown",
                        "exp_alerts": [{"exp_labels": down}],
                    },
                    # The series exists: "no metrics" stays quiet.
                    {
                        "eval_time": "15m",
                        "alertname": "ModelServerMetricsAbsent",
                        "exp_alerts": [],
                    },
                ],
            }
        ],
    )
    assert "SUCCESS" in output


def test_no_metrics_fires_when_no_unit_is_scraped(charm: ThinCharm, tmp_path: Path):
    prometheus.binaries()
    path, unit = _published_rules(charm, tmp_path)
    topology = _charm_topology(charm)
    other = {**_target_labels(topology, unit), "juju_application": "other"}
    absent = {
        "alertname": "ModelServerMetricsAbsent",
        "severity": "warning",
        **topology.label_matcher_dict,
    }
    _test(
        tmp_path,
        path,
        [
            {
                "interval": "1m",
                "input_series": [{"series": _series("up", other), "values": "1x15"}],
                "alert_rule_test": [
                    {"eval_time": "9m", "alertname": "ModelServerMetricsAbsent", "exp_alerts": []},
                    {
                        "eval_time": "11m",
                        "alertname": "ModelServerMetricsAbsent",
                        "exp_alerts": [{"exp_labels": absent}],
                    },
                ],
            }
        ],
    )


def _buckets(labels: dict[str, str], per_minute: dict[str, int]) -> list[dict[str, str]]:
    """Histogram bucket series growing by `per_minute[le]` each minute (cumulative counts)."""
    return [
        {"series": _series("request_predict_seconds_bucket", {**labels, "le": le}),
         "values": f"0+{count}x15"}
        for le, count in per_minute.items()
    ]  # fmt: skip


# KServe's request histograms; proteus's latency alert is on amdinfer's summary (below).
@pytest.mark.parametrize("charm", KSERVE_CHARMS, ids=[c.name for c in KSERVE_CHARMS])
def test_predict_latency_fires_above_the_configured_threshold(charm: ThinCharm, tmp_path: Path):
    prometheus.binaries()
    path, unit = _published_rules(charm, tmp_path / "low", **{"latency-alert-threshold": 0.2})
    topology = _charm_topology(charm)
    labels = {**_target_labels(topology, unit), "model_name": "model"}
    # 60 requests a minute, 30 of them slower than 0.25 s: p99 is near 0.5 s.
    slow = _buckets(labels, {"0.1": 30, "0.25": 30, "0.5": 60, "+Inf": 60})
    firing_labels = {
        "alertname": "KServePredictLatencyHigh",
        "severity": "warning",
        **topology.label_matcher_dict,
        "juju_unit": unit,
        "model_name": "model",
    }
    _test(
        tmp_path,
        path,
        [
            {
                "interval": "1m",
                "input_series": slow,
                "alert_rule_test": [
                    {"eval_time": "3m", "alertname": "KServePredictLatencyHigh", "exp_alerts": []},
                    {
                        "eval_time": "12m",
                        "alertname": "KServePredictLatencyHigh",
                        "exp_alerts": [{"exp_labels": firing_labels}],
                    },
                ],
            }
        ],
    )
    # The same series under the default threshold (1 s) raise nothing.
    default_path, _ = _published_rules(charm, tmp_path / "default")
    _test(
        tmp_path,
        default_path,
        [
            {
                "interval": "1m",
                "input_series": slow,
                "alert_rule_test": [
                    {"eval_time": "12m", "alertname": "KServePredictLatencyHigh", "exp_alerts": []}
                ],
            }
        ],
    )


def test_proteus_alerts_fire_on_amdinfer_metrics(tmp_path: Path):
    prometheus.binaries()
    path, unit = _published_rules(PROTEUS, tmp_path, **{"latency-alert-threshold": 0.5})
    topology = _charm_topology(PROTEUS)
    labels = _target_labels(topology, unit)
    topology_labels = {**topology.label_matcher_dict, "juju_unit": unit}
    _test(
        tmp_path,
        path,
        [
            {
                "interval": "1m",
                "input_series": [
                    # p99 of 2 s (amdinfer reports microseconds), p50 well below.
                    {
                        "series": _series(
                            "amdinfer_request_latency", {**labels, "quantile": "0.99"}
                        ),
                        "values": "2000000x15",
                    },
                    {
                        "series": _series(
                            "amdinfer_request_latency", {**labels, "quantile": "0.5"}
                        ),
                        "values": "1000x15",
                    },
                    # Requests keep entering the workers, none leave.
                    {
                        "series": _series(
                            "amdinfer_pipeline_ingress_total", {**labels, "stage": "worker"}
                        ),
                        "values": "0+100x15",
                    },
                    {
                        "series": _series(
                            "amdinfer_pipeline_egress_total", {**labels, "stage": "worker"}
                        ),
                        "values": "0x15",
                    },
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "10m",
                        "alertname": "ProteusRequestLatencyHigh",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "alertname": "ProteusRequestLatencyHigh",
                                    "severity": "warning",
                                    **topology_labels,
                                }
                            }
                        ],
                    },
                    {
                        "eval_time": "10m",
                        "alertname": "ProteusWorkersStalled",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "alertname": "ProteusWorkersStalled",
                                    "severity": "critical",
                                    **topology_labels,
                                }
                            }
                        ],
                    },
                ],
            },
            {
                # A healthy server: fast, and the workers answer what they take in
                # (amdinfer counts each request in at both workers of a chain, out once).
                "interval": "1m",
                "input_series": [
                    {
                        "series": _series(
                            "amdinfer_request_latency", {**labels, "quantile": "0.99"}
                        ),
                        "values": "20000x15",
                    },
                    {
                        "series": _series(
                            "amdinfer_pipeline_ingress_total", {**labels, "stage": "worker"}
                        ),
                        "values": "0+200x15",
                    },
                    {
                        "series": _series(
                            "amdinfer_pipeline_egress_total", {**labels, "stage": "worker"}
                        ),
                        "values": "0+100x15",
                    },
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "10m",
                        "alertname": "ProteusRequestLatencyHigh",
                        "exp_alerts": [],
                    },
                    {"eval_time": "10m", "alertname": "ProteusWorkersStalled", "exp_alerts": []},
                ],
            },
        ],
    )


@pytest.mark.parametrize("name", dashboards.available_dashboards())
def test_every_dashboard_query_parses(name: str, tmp_path: Path):
    """Each panel query, as Grafana sends it, is valid PromQL (as a recording rule)."""
    prometheus.binaries()
    variables = {
        "juju_model": ".*",
        "juju_model_uuid": ".*",
        "juju_application": ".*",
        "juju_unit": ".*",
    }
    document = dashboards.dashboard(name, "any-charm")
    queries = panel_queries(document)
    recording = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {
                        "record": f"dashboard:query_{index}",
                        "expr": substitute(expr, variables, "1m"),
                    }
                    for index, (_, expr) in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "queries.yaml"
    path.write_text(json.dumps(recording))
    _check(path)
