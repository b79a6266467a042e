"""`metrics-endpoint` (prometheus_scrape): the exact databags prometheus-k8s reads."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from cosl import JujuTopology
from ops import testing

from model_server_charm.observability import metrics
from tests.charms import ThinCharm, charm_config
from tests.unit.conftest import MODEL_URI, container

MODEL = testing.Model(name="serving", uuid="8d6b04a5-1b8e-4c2b-9a52-2a4f0e6b1c3d")
TOPOLOGY = 'juju_model="serving", juju_model_uuid="8d6b04a5-1b8e-4c2b-9a52-2a4f0e6b1c3d"'
APP_KEYS = {"scrape_metadata", "scrape_jobs", "alert_rules"}


def _relation(**kwargs: Any) -> testing.Relation:
    # An empty local unit databag, so that what the charm writes is all there is.
    return testing.Relation(
        "metrics-endpoint", remote_app_name="prometheus", local_unit_data={}, **kwargs
    )


def _state(
    relation: testing.RelationBase | None,
    leader: bool = True,
    config: dict[str, Any] | None = None,
) -> testing.State:
    return testing.State(
        leader=leader,
        model=MODEL,
        config={"model-uri": MODEL_URI, **(config or {})},
        relations={relation} if relation else set(),
        containers={container()},
    )


def _app_name(charm: ThinCharm) -> str:
    # Scenario names the application after the charm.
    return charm.name


def _expected_app_data(charm: ThinCharm, port: int) -> dict[str, Any]:
    app = _app_name(charm)
    return {
        "scrape_metadata": {
            "model": "serving",
            "model_uuid": MODEL.uuid,
            "application": app,
            "unit": f"{app}/0",
            "charm_name": charm.name,
        },
        "scrape_jobs": [
            {
                "job_name": "model-server",
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [f"*:{port}"]}],
            }
        ],
    }


def _decoded(app_data: dict[str, str]) -> dict[str, Any]:
    return {key: json.loads(value) for key, value in app_data.items()}


@pytest.mark.parametrize("event", ["created", "changed"])
def test_leader_publishes_unit_and_application_data(
    ctx: testing.Context[Any], charm: ThinCharm, event: str
):
    relation = _relation()
    trigger = ctx.on.relation_created if event == "created" else ctx.on.relation_changed
    out = ctx.run(trigger(relation), _state(relation))
    published = out.get_relation(relation.id)
    assert published.local_unit_data == {
        "prometheus_scrape_unit_address": socket.getfqdn(),
        "prometheus_scrape_unit_name": f"{_app_name(charm)}/0",
    }
    decoded = _decoded(dict(published.local_app_data))
    assert decoded.keys() == APP_KEYS
    rules = decoded.pop("alert_rules")
    assert decoded == _expected_app_data(charm, 8080)
    assert [rule["alert"] for group in rules["groups"] for rule in group["rules"]] == [
        "ModelServerDown",
        "ModelServerMetricsAbsent",
        "KServePredictLatencyHigh",
    ]


@pytest.mark.parametrize("event", ["created", "changed"])
def test_non_leader_publishes_only_its_unit_data(
    ctx: testing.Context[Any], charm: ThinCharm, event: str
):
    relation = _relation()
    trigger = ctx.on.relation_created if event == "created" else ctx.on.relation_changed
    out = ctx.run(trigger(relation), _state(relation, leader=False))
    published = out.get_relation(relation.id)
    assert published.local_unit_data == {
        "prometheus_scrape_unit_address": socket.getfqdn(),
        "prometheus_scrape_unit_name": f"{_app_name(charm)}/0",
    }
    assert dict(published.local_app_data) == {}


def test_http_port_change_moves_the_scrape_target(ctx: testing.Context[Any], charm: ThinCharm):
    relation = _relation()
    before = ctx.run(ctx.on.relation_created(relation), _state(relation))
    state = _state(before.get_relation(relation.id), config={"http-port": 9000, "grpc-port": 9001})
    out = ctx.run(ctx.on.config_changed(), state)
    decoded = _decoded(dict(out.get_relation(relation.id).local_app_data))
    assert decoded["scrape_jobs"] == _expected_app_data(charm, 9000)["scrape_jobs"]
    # The rules do not name the port: only the job moved.
    assert (
        decoded["alert_rules"]
        == _decoded(dict(before.get_relation(relation.id).local_app_data))["alert_rules"]
    )


def test_latency_threshold_change_rewrites_the_latency_rule(
    ctx: testing.Context[Any], charm: ThinCharm
):
    relation = _relation()
    out = ctx.run(
        ctx.on.config_changed(), _state(relation, config={"latency-alert-threshold": 0.25})
    )
    rules = json.loads(out.get_relation(relation.id).local_app_data["alert_rules"])
    (latency,) = [
        rule
        for group in rules["groups"]
        for rule in group["rules"]
        if rule["alert"] == "KServePredictLatencyHigh"
    ]
    assert latency["expr"].endswith(") > 0.25")
    assert "above 0.25s" in latency["annotations"]["description"]


def test_new_leader_writes_the_application_data(ctx: testing.Context[Any], charm: ThinCharm):
    relation = _relation()
    out = ctx.run(ctx.on.leader_elected(), _state(relation))
    assert dict(out.get_relation(relation.id).local_app_data).keys() == APP_KEYS


def test_without_the_relation_nothing_is_published(ctx: testing.Context[Any], charm: ThinCharm):
    out = ctx.run(ctx.on.config_changed(), _state(None))
    assert not out.relations


def test_invalid_configuration_leaves_the_databags_alone(
    ctx: testing.Context[Any], charm: ThinCharm
):
    relation = _relation()
    before = ctx.run(ctx.on.relation_created(relation), _state(relation))
    published = before.get_relation(relation.id)
    out = ctx.run(
        ctx.on.config_changed(), _state(published, config={"http-port": 80, "grpc-port": 9001})
    )
    assert out.get_relation(relation.id).local_app_data == published.local_app_data
    assert out.get_relation(relation.id).local_unit_data == published.local_unit_data


def test_alert_rules_carry_the_topology(ctx: testing.Context[Any], charm: ThinCharm):
    relation = _relation()
    out = ctx.run(ctx.on.relation_created(relation), _state(relation))
    rules = json.loads(out.get_relation(relation.id).local_app_data["alert_rules"])
    app = _app_name(charm)
    matchers = f'{TOPOLOGY}, juju_application="{app}"'
    by_name = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    assert by_name["ModelServerDown"]["expr"] == f"up{{{matchers}}} < 1"
    assert by_name["ModelServerMetricsAbsent"]["expr"] == f"absent(up{{{matchers}}})"
    assert (
        f"request_predict_seconds_bucket{{{matchers}}}[5m]"
        in (by_name["KServePredictLatencyHigh"]["expr"])
    )
    for group in rules["groups"]:
        assert group["name"].startswith(f"serving_8d6b04a5_{app}_")
    for rule in by_name.values():
        assert "%%" not in json.dumps(rule)
        assert {
            "juju_model": "serving",
            "juju_model_uuid": MODEL.uuid,
            "juju_application": app,
            "juju_charm": charm.name,
        }.items() <= rule["labels"].items()
        assert rule["labels"]["severity"] in {"warning", "critical"}


def test_serverless_mode_publishes_no_unit_job_and_no_rules(charm: ThinCharm):
    """In serverless mode the units serve nothing, so Prometheus must not scrape or alert on them.

    Checked on the functions the charm publishes with, so that this stays
    independent of what else serverless mode needs (a cluster, trust).
    """
    runtime = charm.charm_type.runtime
    config = charm_config(runtime, model_uri=MODEL_URI, deployment_mode="serverless")
    topology = JujuTopology("serving", MODEL.uuid, "sklearn", "sklearn/0", charm.name)
    assert metrics.scrape_jobs(config) == []
    assert metrics.published_rules(runtime, config, topology) == {"groups": []}
    sidecar = charm_config(runtime, model_uri=MODEL_URI)
    assert metrics.published_rules(runtime, sidecar, topology)["groups"]
