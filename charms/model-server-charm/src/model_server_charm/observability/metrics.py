"""The provider side of `prometheus_scrape` (`metrics-endpoint`): scrape job and alert rules.

What goes into the relation, as prometheus-k8s reads it:

- every unit's databag: `prometheus_scrape_unit_address` (the unit's FQDN)
  and `prometheus_scrape_unit_name`; `prometheus_scrape_unit_path`, the prefix
  an ingress would put in front of /metrics, is never set: there is no ingress
  between Prometheus and the units, and Juju stores no empty values;
- the application databag, written by the leader: `scrape_metadata` (the Juju
  topology), `scrape_jobs` (one job whose `"*:<http-port>"` target Prometheus
  expands to every unit's address, adding the topology and `juju_unit` labels)
  and `alert_rules` (the runtime's rule files, see `rules`).

In serverless mode the server pods are KServe's, not this application's units,
so no job points at the units and no rules are sent (they would report the
units as down). Scrape the InferenceService pods through KServe's own
Prometheus annotations instead.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import ops
from cosl import JujuTopology

from model_server_charm.config import CharmConfig
from model_server_charm.observability import rules
from model_server_charm.relation_observer import RelationObserver
from model_server_charm.runtimes import Runtime

RELATION_NAME = "metrics-endpoint"
METRICS_PATH = "/metrics"
# Fixed: prometheus-k8s prefixes it with the topology, and a name that changed
# with the leader or the port would break the continuity of the series.
JOB_NAME = "model-server"


def scrape_jobs(config: CharmConfig) -> list[dict[str, Any]]:
    """The scrape jobs this application asks for: its units' /metrics on the HTTP port."""
    if config.server.deployment_mode == "serverless":
        return []
    return [
        {
            "job_name": JOB_NAME,
            "metrics_path": METRICS_PATH,
            "static_configs": [{"targets": [f"*:{config.server.http_port}"]}],
        }
    ]


def published_rules(
    runtime: Runtime, config: CharmConfig, topology: JujuTopology
) -> dict[str, Any]:
    """The alert rules sent to Prometheus: none when no unit is scraped."""
    if not scrape_jobs(config):
        return {"groups": []}
    return rules.alert_rules(runtime.alert_rules, topology, config.server.latency_alert_threshold)


class MetricsEndpointProvider(RelationObserver):
    """Publishes where each unit's metrics are and how to alert on them.

    It does not observe events itself: the charm runs its one reconcile on
    `events` and calls `publish` with the validated configuration, so a port
    change and a new relation go through the same path.
    """

    event_kinds = ("relation_created", "relation_changed")

    def __init__(
        self,
        charm: ops.CharmBase,
        runtime: Runtime,
        relation_name: str = RELATION_NAME,
        unit_address: Callable[[], str] = socket.getfqdn,
    ):
        super().__init__(charm, relation_name)
        self._runtime = runtime
        # The pod's FQDN is stable across pod restarts, its IP is not.
        self._unit_address = unit_address

    def publish(self, config: CharmConfig) -> None:
        """Write this unit's address and, on the leader, the job and rules, to every relation."""
        relations = self.model.relations[self._relation_name]
        if not relations:
            return
        unit_data = {
            "prometheus_scrape_unit_address": self._unit_address(),
            "prometheus_scrape_unit_name": self.model.unit.name,
        }
        app_data: dict[str, str] = {}
        if self.model.unit.is_leader():
            topology = JujuTopology.from_charm(self._charm)
            app_data = {
                "scrape_metadata": json.dumps(topology.as_dict()),
                "scrape_jobs": json.dumps(scrape_jobs(config)),
                "alert_rules": json.dumps(published_rules(self._runtime, config, topology)),
            }
        for relation in relations:
            relation.data[self.model.unit].update(unit_data)
            if app_data:
                relation.data[self.model.app].update(app_data)
