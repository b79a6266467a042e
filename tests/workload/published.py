"""What a charm publishes on its observability relations, obtained by running the charm.

The workload tests never retype a scrape job, a rule or a dashboard: they run
the charm through Scenario, as Juju would with prometheus-k8s and grafana-k8s
related, and take the databags it wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from unittest import mock

from cosl import JujuTopology, LZMABase64
from ops import testing

from model_server_charm import k8s_resources
from tests.charm_plan import UntrustedClient
from tests.charms import ThinCharm

MODEL = testing.Model(name="kserve", uuid="3f1c2b9e-6d4a-4e8b-9c1d-5a7b8e9f0a12")
# The proteus charm does not exist yet: its topology, for rendering its rules and dashboard.
PROTEUS = JujuTopology(MODEL.name, MODEL.uuid, "proteus", "proteus/0", "proteus-server")


@dataclass(frozen=True)
class Published:
    """The databags of one leader unit after a reconcile."""

    metrics_app: dict[str, str]
    metrics_unit: dict[str, str]
    dashboards: dict[str, dict[str, Any]]

    @property
    def unit_name(self) -> str:
        """The publishing unit's name."""
        return self.metrics_unit["prometheus_scrape_unit_name"]


def publish(charm: ThinCharm, config: dict[str, Any]) -> Published:
    """Run the charm (leader, both relations joined) with `config` and read its databags.

    The container is unreachable and the application untrusted on purpose:
    relation data depends on neither, and the test starts the server itself.
    """
    metrics = testing.Relation("metrics-endpoint", remote_app_name="prometheus")
    grafana = testing.Relation("grafana-dashboard", remote_app_name="grafana")
    state = testing.State(
        leader=True,
        model=MODEL,
        config=config,
        relations={metrics, grafana},
        containers={testing.Container("server", can_connect=False)},
    )
    ctx = testing.Context(charm.charm_type)
    with mock.patch.object(k8s_resources, "kube_client", UntrustedClient):
        out = ctx.run(ctx.on.config_changed(), state)
    scrape = out.get_relation(metrics.id)
    dashboards = json.loads(out.get_relation(grafana.id).local_app_data["dashboards"])
    return Published(
        metrics_app=dict(scrape.local_app_data),
        metrics_unit={
            key: value
            for key, value in scrape.local_unit_data.items()
            if key.startswith("prometheus_scrape_")
        },
        dashboards={
            key: json.loads(LZMABase64.decompress(template["content"]))
            for key, template in dashboards["templates"].items()
        },
    )


def panel_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (panel title, query) of a dashboard."""
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if target.get("expr")
    ]


def substitute(expression: str, variables: dict[str, str], rate_interval: str) -> str:
    """A dashboard query as Grafana sends it, with these variable values."""
    # Longest first: $juju_model is a prefix of $juju_model_uuid.
    for name, value in sorted(variables.items(), key=lambda item: -len(item[0])):
        expression = expression.replace(f"${name}", value)
    expression = expression.replace("$__rate_interval", rate_interval)
    assert "$" not in expression, f"unsubstituted variable in {expression}"
    return expression
