"""`grafana-dashboard` (grafana_dashboard): the databag grafana-k8s reads, and the dashboards."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from cosl import DashboardPath40UID, LZMABase64
from ops import testing

from model_server_charm.observability import dashboards, rules
from model_server_charm.runtimes import RUNTIMES, Runtime
from tests.charms import ThinCharm
from tests.unit.conftest import MODEL_URI, container

TOPOLOGY_VARIABLES = ("juju_model", "juju_model_uuid", "juju_application", "juju_unit")


def _relation() -> testing.Relation:
    return testing.Relation("grafana-dashboard", remote_app_name="grafana")


def _state(relation: testing.RelationBase | None, leader: bool = True) -> testing.State:
    return testing.State(
        leader=leader,
        config={"model-uri": MODEL_URI},
        relations={relation} if relation else set(),
        containers={container()},
    )


def _targets(document: dict[str, Any]) -> list[str]:
    return [
        target["expr"]
        for panel in document["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]


@pytest.mark.parametrize("event", ["created", "changed"])
def test_leader_publishes_the_runtimes_dashboards(
    ctx: testing.Context[Any], charm: ThinCharm, event: str
):
    relation = _relation()
    trigger = ctx.on.relation_created if event == "created" else ctx.on.relation_changed
    out = ctx.run(trigger(relation), _state(relation))
    app_data = dict(out.get_relation(relation.id).local_app_data)
    assert app_data.keys() == {"dashboards"}
    data = json.loads(app_data["dashboards"])
    assert data.keys() == {"templates", "uuid"}
    assert re.fullmatch(r"[0-9a-f]{32}", data["uuid"])
    runtime = charm.charm_type.runtime
    assert data["templates"].keys() == {f"file:{name}" for name in runtime.dashboards}
    for name in runtime.dashboards:
        template = data["templates"][f"file:{name}"]
        content = json.loads(LZMABase64.decompress(template.pop("content")))
        assert template == {"charm": charm.name, "juju_topology": {}, "inject_dropdowns": False}
        expected = json.loads(
            dashboards.dashboard_text(name).replace("%%juju_charm%%", charm.name)
        )
        assert content == {
            **expected,
            "uid": DashboardPath40UID.generate(charm.name, f"grafana_dashboards/{name}.json"),
            "tags": [*expected["tags"], f"charm: {charm.name}"],
        }


def test_the_databag_is_the_same_on_every_hook(ctx: testing.Context[Any], charm: ThinCharm):
    """A stable `uuid`: an unchanged charm must not wake grafana-k8s on every hook."""
    relation = _relation()
    first = ctx.run(ctx.on.relation_created(relation), _state(relation))
    second = ctx.run(ctx.on.update_status(), _state(first.get_relation(relation.id)))
    assert (
        first.get_relation(relation.id).local_app_data
        == second.get_relation(relation.id).local_app_data
    )


@pytest.mark.parametrize("event", ["created", "changed"])
def test_non_leader_publishes_nothing(ctx: testing.Context[Any], charm: ThinCharm, event: str):
    relation = _relation()
    trigger = ctx.on.relation_created if event == "created" else ctx.on.relation_changed
    out = ctx.run(trigger(relation), _state(relation, leader=False))
    assert dict(out.get_relation(relation.id).local_app_data) == {}


def test_without_the_relation_nothing_is_published(ctx: testing.Context[Any], charm: ThinCharm):
    out = ctx.run(ctx.on.config_changed(), _state(None))
    assert not out.relations


@pytest.mark.parametrize("name", dashboards.available_dashboards())
def test_every_query_is_narrowed_by_every_topology_variable(name: str):
    document = json.loads(dashboards.dashboard_text(name))
    expressions = _targets(document)
    assert expressions, f"{name} has no queries"
    for expression in expressions:
        for variable in TOPOLOGY_VARIABLES:
            assert f'{variable}=~"${variable}"' in expression, (name, variable, expression)


@pytest.mark.parametrize("name", dashboards.available_dashboards())
def test_dashboard_defines_its_datasource_and_topology_variables(name: str):
    document = json.loads(dashboards.dashboard_text(name))
    variables = {variable["name"]: variable for variable in document["templating"]["list"]}
    assert list(variables) == ["prometheusds", *TOPOLOGY_VARIABLES]
    assert variables["prometheusds"]["type"] == "datasource"
    for variable in TOPOLOGY_VARIABLES:
        query = variables[variable]["query"]["query"]
        # Only this charm's applications are offered.
        assert query.startswith('label_values(up{juju_charm="%%juju_charm%%"')
        assert query.endswith(f", {variable})")
    for panel in document["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${prometheusds}"}
    ids = [panel["id"] for panel in document["panels"]]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("runtime", RUNTIMES.values(), ids=list(RUNTIMES))
def test_runtimes_name_existing_observability_files(runtime: Runtime):
    assert set(runtime.dashboards) <= set(dashboards.available_dashboards())
    assert set(runtime.alert_rules) <= set(rules.available_rule_files())
    assert runtime.dashboards
    assert runtime.alert_rules
