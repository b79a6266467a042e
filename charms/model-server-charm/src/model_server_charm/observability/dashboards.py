"""The provider side of `grafana_dashboard` (`grafana-dashboard`): the runtime's dashboards.

The leader writes one key to the application databag, `dashboards`: JSON
`{"templates": {"file:<name>": {"charm", "content", "juju_topology",
"inject_dropdowns"}}, "uuid"}`, where `content` is the dashboard JSON,
LZMA-compressed and base64-encoded (cosl's LZMABase64) to fit in relation data.

The dashboards in `grafana_dashboards/` carry their own Juju topology variables
(juju_model, juju_model_uuid, juju_application, juju_unit) and use them in
every query, so they are sent with `inject_dropdowns: false` and an empty
`juju_topology`: grafana-k8s then leaves the queries alone instead of adding
its own dropdowns and the leader's topology to them. Their `prometheusds`
datasource variable is the one grafana-k8s would add, field for field, so it
is not added twice.

Each dashboard is made specific to the charm when published: `%%juju_charm%%`
(the variables only offer applications of this charm) and a uid derived from
the charm and file names, so every runtime's charm has its own dashboard.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from typing import Any

import ops
from cosl import DashboardPath40UID, LZMABase64

from model_server_charm.relation_observer import RelationObserver
from model_server_charm.runtimes import Runtime

RELATION_NAME = "grafana-dashboard"
CHARM_PLACEHOLDER = "%%juju_charm%%"
DASHBOARDS_DIR = "grafana_dashboards"
# The package holding grafana_dashboards/ (this module's own package).
_PACKAGE = __name__.rpartition(".")[0]


def dashboard_text(name: str) -> str:
    """The packaged dashboard `grafana_dashboards/<name>.json`, placeholders and all."""
    return resources.files(_PACKAGE).joinpath(DASHBOARDS_DIR).joinpath(name + ".json").read_text()


def available_dashboards() -> list[str]:
    """Names of every packaged dashboard (what runtimes.yaml may list)."""
    directory = resources.files(_PACKAGE).joinpath(DASHBOARDS_DIR)
    return sorted(
        entry.name.removesuffix(".json")
        for entry in directory.iterdir()
        if entry.name.endswith(".json")
    )


def dashboard(name: str, charm_name: str) -> dict[str, Any]:
    """The dashboard `name` as this charm publishes it."""
    document: dict[str, Any] = json.loads(
        dashboard_text(name).replace(CHARM_PLACEHOLDER, charm_name)
    )
    document["uid"] = DashboardPath40UID.generate(charm_name, f"{DASHBOARDS_DIR}/{name}.json")
    document["tags"] = [*document.get("tags", []), f"charm: {charm_name}"]
    return document


def dashboards_data(runtime: Runtime, charm_name: str) -> dict[str, Any]:
    """The value of the `dashboards` key (before JSON encoding)."""
    templates = {
        f"file:{name}": {
            "charm": charm_name,
            "content": LZMABase64.compress(json.dumps(dashboard(name, charm_name))),
            "juju_topology": {},
            "inject_dropdowns": False,
        }
        for name in runtime.dashboards
    }
    # Grafana ignores `uuid`; it changes exactly when a dashboard does (a new
    # charm revision), so an unchanged charm never wakes grafana-k8s up.
    digest = hashlib.sha256(json.dumps(templates, sort_keys=True).encode()).hexdigest()
    return {"templates": templates, "uuid": digest[:32]}


class GrafanaDashboardProvider(RelationObserver):
    """Publishes the runtime's dashboards to every related Grafana (leader only).

    Like the other observers it only names its `events`; the charm's reconcile
    calls `publish`.
    """

    event_kinds = ("relation_created", "relation_changed")

    def __init__(self, charm: ops.CharmBase, runtime: Runtime, relation_name: str = RELATION_NAME):
        super().__init__(charm, relation_name)
        self._runtime = runtime

    def publish(self) -> None:
        """Write the dashboards to every grafana-dashboard relation, if this unit leads."""
        relations = self.model.relations[self._relation_name]
        if not relations or not self.model.unit.is_leader():
            return
        value = json.dumps(dashboards_data(self._runtime, self._charm.meta.name))
        for relation in relations:
            relation.data[self.model.app]["dashboards"] = value
