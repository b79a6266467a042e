"""`send-otlp` (otlp): the rules the charm publishes; OTLP log targets where Pebble has them."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from charmlibs.interfaces.otlp import OtlpRequirer
from cosl.utils import LZMABase64
from ops import pebble, testing
from ops._private.harness import _TestingPebbleClient

from model_server_charm.observability import otlp
from tests.charms import REPRESENTATIVE, ThinCharm
from tests.unit.conftest import MODEL_URI, container, running_container
from tests.unit.fake_server import FakeModelServer

COLLECTOR = "http://otelcol-0.otelcol-endpoints.cos.svc.cluster.local:4318"
HTTP_LOGS = {"protocol": "http", "endpoint": COLLECTOR, "telemetries": ["logs", "metrics"]}
GRPC_LOGS = {"protocol": "grpc", "endpoint": COLLECTOR[:-1] + "7", "telemetries": ["logs"]}


@pytest.fixture
def charm() -> ThinCharm:
    """OTLP is the shared implementation's: one charm shows it."""
    return REPRESENTATIVE


@pytest.fixture
def pebble_version(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Make the container's Pebble report a version (Scenario's always says 1.0.0)."""

    def reports(version: str) -> None:
        def get_system_info(_: _TestingPebbleClient) -> pebble.SystemInfo:
            return pebble.SystemInfo(version=version)

        monkeypatch.setattr(_TestingPebbleClient, "get_system_info", get_system_info)

    return reports


def _otlp(endpoints: list[dict[str, Any]] | str | None) -> testing.Relation:
    raw = endpoints if isinstance(endpoints, str) else json.dumps(endpoints)
    data = {} if endpoints is None else {"endpoints": raw}
    return testing.Relation("send-otlp", remote_app_name="otelcol", remote_app_data=data)


def _state(*relations: testing.Relation, box: testing.Container | None = None, **kw: Any):
    return testing.State(
        config={"model-uri": MODEL_URI, **kw.pop("config", {})},
        relations=set(relations),
        containers={box or container()},
        **kw,
    )


def _targets(out: testing.State) -> dict[str, dict[str, Any]]:
    plan = out.get_container("server").plan
    return {name: dict(target.to_dict()) for name, target in plan.log_targets.items()}


def test_the_leader_publishes_the_charms_rules(ctx: testing.Context[Any]):
    relation = _otlp(None)
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), _state(relation, leader=True))
    published = out.get_relation(relation.id).local_app_data
    rules = json.loads(LZMABase64.decompress(json.loads(published["rules"])))
    alerts = {rule["alert"] for group in rules["promql"]["groups"] for rule in group["rules"]}
    assert {"ModelServerDown", "KServePredictLatencyHigh", "HostDown"} <= alerts
    assert json.loads(published["metadata"])["application"] == REPRESENTATIVE.name


def test_other_units_publish_nothing(ctx: testing.Context[Any]):
    relation = _otlp(None)
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), _state(relation, leader=False))
    assert dict(out.get_relation(relation.id).local_app_data) == {}


def test_a_pebble_with_otlp_targets_forwards_to_the_http_endpoint(
    ctx: testing.Context[Any], pebble_version: Callable[[str], None]
):
    pebble_version("v1.26.0")
    relation = _otlp([GRPC_LOGS, HTTP_LOGS])
    out = ctx.run(ctx.on.relation_changed(relation), _state(relation))
    target = _targets(out)["juju-otlp-otelcol"]
    assert (target["type"], target["location"], target["services"]) == (
        "opentelemetry",
        COLLECTOR,
        ["all"],
    )
    assert target["labels"]["juju_application"] == REPRESENTATIVE.name


def test_an_older_pebble_plans_no_otlp_target(
    ctx: testing.Context[Any], pebble_version: Callable[[str], None]
):
    pebble_version("v1.19.2")
    relation = _otlp([HTTP_LOGS])
    out = ctx.run(ctx.on.relation_changed(relation), _state(relation))
    assert _targets(out) == {}


@pytest.mark.parametrize(
    ("version", "loki", "note"),
    [
        ("v1.26.0", False, "logs over OTLP"),
        ("v1.26.0", True, "logs over OTLP and to Loki"),
        ("v1.19.2", True, "logs to Loki: this unit's Pebble v1.19.2 has no OTLP log target"),
        ("v1.19.2", False, "logs not forwarded: this unit's Pebble v1.19.2 has no OTLP log"),
    ],
)
def test_the_status_says_which_way_the_logs_go(
    ctx: testing.Context[Any],
    charm: ThinCharm,
    fake: FakeModelServer,
    pebble_version: Callable[[str], None],
    version: str,
    loki: bool,
    note: str,
):
    pebble_version(version)
    relations = [_otlp([HTTP_LOGS])]
    if loki:
        relations.append(testing.Relation("logging", remote_app_name="loki"))
    box = running_container(charm, fake.port)
    state = _state(*relations, box=box, config={"http-port": fake.port})
    out = ctx.run(ctx.on.update_status(), state)
    assert out.unit_status.name == "active"
    assert f"; {note}" in out.unit_status.message


HOSTILE = [
    pytest.param("not json", "not valid JSON", id="not-json"),
    pytest.param("[" * 5000 + "]" * 5000, "nests deeper", id="deep"),
    pytest.param(json.dumps([HTTP_LOGS] * 400), "bytes, over", id="huge"),
    pytest.param(
        '[{"protocol": "http", "endpoint": 1' + "0" * 5000 + "}]", "5001 digits", id="digits"
    ),
    pytest.param('{"endpoint": "http://x:4318"}', "not a list of OTLP endpoints", id="object"),
    pytest.param(json.dumps([{"protocol": "http"}]), "not a list of OTLP endpoints", id="fields"),
    pytest.param(json.dumps([GRPC_LOGS]), "no OTLP/HTTP endpoint taking logs", id="grpc-only"),
    pytest.param(
        json.dumps([{**HTTP_LOGS, "telemetries": ["traces"]}]), "no OTLP/HTTP", id="no-logs"
    ),
    pytest.param(json.dumps([{**HTTP_LOGS, "endpoint": "ftp://x:4318"}]), "ftp", id="ftp"),
    pytest.param(json.dumps([{**HTTP_LOGS, "endpoint": "http://x:99999"}]), "99999", id="port"),
]


@pytest.mark.parametrize(("raw", "logged"), HOSTILE)
def test_hostile_endpoints_are_ignored_with_a_log_line(
    ctx: testing.Context[Any],
    caplog: pytest.LogCaptureFixture,
    pebble_version: Callable[[str], None],
    raw: str,
    logged: str,
):
    pebble_version("v1.26.0")
    relation = _otlp(raw)
    with caplog.at_level(logging.WARNING):
        out = ctx.run(ctx.on.relation_changed(relation), _state(relation))
    assert _targets(out) == {}
    assert logged in caplog.text


def test_the_librarys_own_reader_would_raise_on_malformed_data(ctx: testing.Context[Any]):
    # Why the charm reads the endpoints itself (observability/otlp.py).
    relation = _otlp("not json")
    with ctx(ctx.on.update_status(), _state(relation)) as manager:
        requirer = OtlpRequirer(manager.charm, otlp.RELATION_NAME, ["http"], ["logs"])
        with pytest.raises(json.JSONDecodeError):
            _ = requirer.endpoints


def test_relation_broken_silences_the_target(
    ctx: testing.Context[Any], pebble_version: Callable[[str], None]
):
    pebble_version("v1.26.0")
    relation = _otlp([HTTP_LOGS])
    before = ctx.run(ctx.on.relation_changed(relation), _state(relation))
    box = before.get_container("server")
    out = ctx.run(ctx.on.relation_broken(relation), _state(relation, box=box))
    assert _targets(out)["juju-otlp-otelcol"]["services"] == ["all", "-all"]
