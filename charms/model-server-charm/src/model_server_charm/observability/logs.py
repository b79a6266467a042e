"""The requirer side of `loki_push_api` (`logging`): the server's logs, pushed by Pebble.

Each Loki unit publishes its push URL in its unit databag as `endpoint`, JSON
`{"url": "http://…:3100/loki/api/v1/push"}`. The charm turns every such URL
into a Pebble log target in its own layer (`log-targets`): Pebble then pushes
the output of every service in the container, labelled with the unit's Juju
topology, with no log agent in the pod. When a Loki unit goes away its target
is switched off (`services: ["-all"]`): Pebble layers can override a target
but not remove it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import ops
from cosl import JujuTopology

RELATION_NAME = "logging"
LAYER_NAME = "log-targets"
# Only targets with this prefix are this module's to switch off.
TARGET_PREFIX = "juju-logging-"

logger = logging.getLogger(__name__)


def loki_endpoints(relations: list[ops.Relation]) -> dict[str, str]:
    """Every related Loki unit's push URL, by unit name; malformed entries are skipped."""
    endpoints: dict[str, str] = {}
    for relation in relations:
        for unit in relation.units:
            raw = relation.data[unit].get("endpoint")
            if not raw:
                continue  # the Loki unit has not published its URL yet
            try:
                endpoint: Any = json.loads(raw)
                url = endpoint["url"]
            except (json.JSONDecodeError, KeyError, TypeError):
                logger.warning("ignoring %s's malformed Loki endpoint: %r", unit.name, raw)
                continue
            if isinstance(url, str) and url:
                endpoints[unit.name] = url
    return endpoints


def target_name(loki_unit: str) -> str:
    """The Pebble log target of one Loki unit (`loki/0` becomes `juju-logging-loki-0`)."""
    return TARGET_PREFIX + loki_unit.replace("/", "-")


def log_targets_layer(
    endpoints: dict[str, str],
    planned: Mapping[str, ops.pebble.LogTarget],
    topology: JujuTopology,
) -> ops.pebble.LayerDict:
    """The layer pushing every service's logs to each Loki, and silencing departed ones.

    A target already silenced is left out: merging `-all` into it again would
    grow its service list on every hook.
    """
    labels = {
        "juju_model": topology.model,
        "juju_model_uuid": topology.model_uuid,
        "juju_application": topology.application,
        "juju_unit": topology.unit or "",
        "juju_charm": topology.charm_name or "",
    }
    targets: dict[str, ops.pebble.LogTargetDict] = {
        target_name(unit): {
            "override": "replace",
            "type": "loki",
            "location": url,
            "services": ["all"],
            "labels": labels,
        }
        for unit, url in sorted(endpoints.items())
    }
    for name, target in planned.items():
        silenced = target.services[-1:] == ["-all"]
        if name.startswith(TARGET_PREFIX) and name not in targets and not silenced:
            targets[name] = {"override": "merge", "services": ["-all"]}
    return {"summary": "Forward the server's logs to Loki", "log-targets": targets}


class LogForwarder(ops.Object):
    """Keeps the container's Pebble log targets in step with the related Loki units.

    Like the other observers it only names its `events`; the charm's reconcile
    adds its `layer` to the container's plan once the container can be reached.
    """

    def __init__(self, charm: ops.CharmBase, relation_name: str = RELATION_NAME):
        super().__init__(charm, relation_name)
        self._charm = charm
        self._relation_name = relation_name

    @property
    def events(self) -> tuple[ops.BoundEvent, ...]:
        """The relation events after which the log targets may have changed."""
        relation = self._charm.on[self._relation_name]
        return (relation.relation_changed, relation.relation_departed, relation.relation_broken)

    def layer(self, planned: Mapping[str, ops.pebble.LogTarget]) -> ops.pebble.LayerDict | None:
        """The layer pointing the container's log targets at exactly the Loki units related now.

        None when there is nothing to add: never related to Loki, or nothing left to silence.
        """
        endpoints = loki_endpoints(self.model.relations[self._relation_name])
        topology = JujuTopology.from_charm(self._charm)
        layer = log_targets_layer(endpoints, planned, topology)
        return layer if layer.get("log-targets") else None
