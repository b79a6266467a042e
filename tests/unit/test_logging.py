"""`logging` (loki_push_api): Pebble log targets follow the related Loki units."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ops import pebble, testing

from model_server_charm.observability import logs
from tests.charms import REPRESENTATIVE, ThinCharm
from tests.unit.conftest import MODEL_URI, container


@pytest.fixture
def charm() -> ThinCharm:
    """Log forwarding is the shared implementation's: one charm shows it."""
    return REPRESENTATIVE


MODEL = testing.Model(name="serving", uuid="8d6b04a5-1b8e-4c2b-9a52-2a4f0e6b1c3d")
PUSH_0 = "http://loki-0.loki-endpoints.cos.svc.cluster.local:3100/loki/api/v1/push"
PUSH_1 = "http://loki-1.loki-endpoints.cos.svc.cluster.local:3100/loki/api/v1/push"


def _endpoint(url: str) -> dict[str, str]:
    return {"endpoint": json.dumps({"url": url})}


def _loki(units: dict[int, dict[str, str]]) -> testing.Relation:
    return testing.Relation("logging", remote_app_name="loki", remote_units_data=units)


def _state(
    relations: set[testing.Relation], box: testing.Container | None = None
) -> testing.State:
    return testing.State(
        model=MODEL,
        config={"model-uri": MODEL_URI},
        relations=relations,
        containers={box or container()},
    )


def _labels(charm: ThinCharm) -> dict[str, str]:
    return {
        "juju_model": "serving",
        "juju_model_uuid": MODEL.uuid,
        "juju_application": charm.name,
        "juju_unit": f"{charm.name}/0",
        "juju_charm": charm.name,
    }


def _target(charm: ThinCharm, url: str) -> dict[str, Any]:
    return {
        "override": "replace",
        "type": "loki",
        "location": url,
        "services": ["all"],
        "labels": _labels(charm),
    }


def _log_targets(out: testing.State) -> dict[str, Any]:
    return {
        name: target.to_dict()
        for name, target in out.get_container("server").plan.log_targets.items()
    }


def test_each_loki_unit_becomes_a_log_target(ctx: testing.Context[Any], charm: ThinCharm):
    relation = _loki({0: _endpoint(PUSH_0), 1: _endpoint(PUSH_1)})
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=1), _state({relation}))
    assert _log_targets(out) == {
        "juju-logging-loki-0": _target(charm, PUSH_0),
        "juju-logging-loki-1": _target(charm, PUSH_1),
    }
    layer = out.get_container("server").layers[logs.LAYER_NAME]
    assert set(layer.log_targets) == {"juju-logging-loki-0", "juju-logging-loki-1"}


def test_units_without_a_usable_endpoint_are_skipped(ctx: testing.Context[Any], charm: ThinCharm):
    relation = _loki(
        {
            0: _endpoint(PUSH_0),
            1: {},  # not published yet
            2: {"endpoint": "not json"},
            3: {"endpoint": json.dumps({"address": "loki-3"})},
        }
    )
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), _state({relation}))
    assert _log_targets(out) == {"juju-logging-loki-0": _target(charm, PUSH_0)}


def test_a_departed_loki_unit_is_silenced_once(ctx: testing.Context[Any], charm: ThinCharm):
    relation = _loki({0: _endpoint(PUSH_0), 1: _endpoint(PUSH_1)})
    before = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), _state({relation}))
    remaining = testing.Relation(
        "logging", id=relation.id, remote_app_name="loki", remote_units_data={0: _endpoint(PUSH_0)}
    )
    box = before.get_container("server")
    out = ctx.run(
        ctx.on.relation_departed(remaining, remote_unit=1, departing_unit=1),
        _state({remaining}, box),
    )
    targets = _log_targets(out)
    assert targets["juju-logging-loki-0"] == _target(charm, PUSH_0)
    assert targets["juju-logging-loki-1"]["services"] == ["all", "-all"]
    # Another hook does not merge "-all" again.
    again = ctx.run(ctx.on.update_status(), _state({remaining}, out.get_container("server")))
    assert _log_targets(again) == targets


def test_relation_removed_silences_every_target(ctx: testing.Context[Any], charm: ThinCharm):
    relation = _loki({0: _endpoint(PUSH_0)})
    before = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), _state({relation}))
    out = ctx.run(
        ctx.on.relation_broken(relation), _state({relation}, before.get_container("server"))
    )
    assert _log_targets(out)["juju-logging-loki-0"]["services"] == ["all", "-all"]


def test_log_targets_the_charm_did_not_plan_keep_forwarding(
    ctx: testing.Context[Any], charm: ThinCharm
):
    """A target of the rock's own layers (or an operator's) is not the charm's to silence."""
    site: pebble.LogTargetDict = {
        "override": "replace",
        "type": "loki",
        "location": "http://loki.example.com:3100/loki/api/v1/push",
        "services": ["all"],
    }
    rock = pebble.Layer({"log-targets": {"site-loki": site}})
    relation = _loki({0: _endpoint(PUSH_0)})
    before = ctx.run(
        ctx.on.relation_changed(relation, remote_unit=0),
        _state({relation}, container(layers={"rock": rock})),
    )
    out = ctx.run(
        ctx.on.relation_broken(relation), _state({relation}, before.get_container("server"))
    )
    targets = _log_targets(out)
    assert targets["site-loki"] == site
    assert targets["juju-logging-loki-0"]["services"] == ["all", "-all"]


def test_loki_unit_back_again_is_forwarded_to_again(ctx: testing.Context[Any], charm: ThinCharm):
    relation = _loki({0: _endpoint(PUSH_0)})
    before = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), _state({relation}))
    silenced = ctx.run(
        ctx.on.relation_broken(relation), _state({relation}, before.get_container("server"))
    )
    back = _loki({0: _endpoint(PUSH_0)})
    out = ctx.run(
        ctx.on.relation_changed(back, remote_unit=0),
        _state({back}, silenced.get_container("server")),
    )
    assert _log_targets(out) == {"juju-logging-loki-0": _target(charm, PUSH_0)}


def test_without_loki_there_is_no_log_targets_layer(ctx: testing.Context[Any], charm: ThinCharm):
    out = ctx.run(ctx.on.config_changed(), _state(set()))
    assert logs.LAYER_NAME not in out.get_container("server").layers
    assert _log_targets(out) == {}


def test_unreachable_container_waits_for_pebble(ctx: testing.Context[Any], charm: ThinCharm):
    relation = _loki({0: _endpoint(PUSH_0)})
    out = ctx.run(
        ctx.on.relation_changed(relation, remote_unit=0),
        _state({relation}, container(can_connect=False)),
    )
    assert out.get_container("server").layers == {}


def test_the_server_service_is_still_planned(ctx: testing.Context[Any], charm: ThinCharm):
    """The log-targets layer sits beside the server's layer; it does not replace it."""
    relation = _loki({0: _endpoint(PUSH_0)})
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), _state({relation}))
    plan = out.get_container("server").plan
    assert charm.charm_type.runtime.service_name in plan.services
    assert plan.log_targets["juju-logging-loki-0"].services == ["all"]
    assert isinstance(plan.log_targets["juju-logging-loki-0"], pebble.LogTarget)
