"""The requirer side of `loki_push_api` (`logging`): the server's logs, pushed by Pebble.

Each Loki unit publishes its push URL in its unit databag as `endpoint`, JSON
`{"url": "http://…:3100/loki/api/v1/push"}`. The charm turns every such URL
into a Pebble log target in its own layer (`log-targets`): Pebble then pushes
the output of every service in the container, labelled with the unit's Juju
topology, with no log agent in the pod. When a Loki unit goes away its target
is switched off (`services: ["-all"]`): Pebble layers can override a target
but not remove it.

Relation data is written by another application: an endpoint that is not
bounded JSON holding an http(s) URL with a host is ignored with a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

import ops
from cosl import JujuTopology

from model_server_charm import bounded, validation
from model_server_charm.relation_observer import RelationObserver

RELATION_NAME = "logging"
LAYER_NAME = "log-targets"
# Only targets with this prefix are this module's to switch off.
TARGET_PREFIX = "juju-logging-"
# `{"url": "<push URL>"}`: a few hundred bytes; anything near this is not an endpoint.
ENDPOINT_JSON = bounded.JSONLimits(max_bytes=4096, max_depth=4)

logger = logging.getLogger(__name__)


def loki_endpoints(relations: list[ops.Relation]) -> dict[str, str]:
    """Every related Loki unit's push URL, by unit name; unusable entries are skipped."""
    endpoints: dict[str, str] = {}
    for relation in relations:
        for unit in relation.units:
            raw = relation.data[unit].get("endpoint")
            if not raw:
                continue  # the Loki unit has not published its URL yet
            try:
                url = push_url(raw)
            except ValueError as error:
                logger.warning("ignoring %s's Loki endpoint: %s", unit.name, error)
                continue
            endpoints[unit.name] = url
    return endpoints


def push_url(endpoint: str) -> str:
    """The push URL in a Loki unit's `endpoint`; ValueError says why there is none."""
    document: Any = bounded.parse_json(endpoint, ENDPOINT_JSON, "the endpoint")
    url = document.get("url") if isinstance(document, dict) else None
    if not isinstance(url, str):
        raise ValueError(f"no URL in {bounded.quote(endpoint)}")
    problem = validation.http_url_problem(url)
    if problem:
        raise ValueError(f"{bounded.quote(url)} {problem}")
    return url


def log_targets_layer(
    endpoints: dict[str, str],
    planned: Mapping[str, ops.pebble.LogTarget],
    topology: JujuTopology,
    target_type: Literal["loki", "opentelemetry"] = "loki",
    prefix: str = TARGET_PREFIX,
) -> ops.pebble.LayerDict:
    """The layer pushing every service's logs to each endpoint, and silencing departed ones.

    `endpoints` maps a remote unit or application to its URL; each becomes the
    target `<prefix><name>` of `target_type`. A target already silenced is left
    out: merging `-all` into it again would grow its service list on every hook.
    """
    labels = {
        "juju_model": topology.model,
        "juju_model_uuid": topology.model_uuid,
        "juju_application": topology.application,
        "juju_unit": topology.unit or "",
        "juju_charm": topology.charm_name or "",
    }
    targets: dict[str, ops.pebble.LogTargetDict] = {
        prefix + name.replace("/", "-"): {
            "override": "replace",
            "type": target_type,
            "location": url,
            "services": ["all"],
            "labels": labels,
        }
        for name, url in sorted(endpoints.items())
    }
    for name, target in planned.items():
        silenced = target.services[-1:] == ["-all"]
        if name.startswith(prefix) and name not in targets and not silenced:
            targets[name] = {"override": "merge", "services": ["-all"]}
    return {"summary": f"Forward the server's logs ({target_type})", "log-targets": targets}


class LogForwarder(RelationObserver):
    """Keeps the container's Pebble log targets in step with the related Loki units.

    Like the other observers it only names its `events`; the charm's reconcile
    adds its `layer` to the container's plan once the container can be reached.
    """

    event_kinds = ("relation_changed", "relation_departed", "relation_broken")

    def __init__(self, charm: ops.CharmBase, relation_name: str = RELATION_NAME):
        super().__init__(charm, relation_name)

    def layer(self, planned: Mapping[str, ops.pebble.LogTarget]) -> ops.pebble.LayerDict | None:
        """The layer pointing the container's log targets at exactly the Loki units related now.

        None when there is nothing to add: never related to Loki, or nothing left to silence.
        """
        endpoints = loki_endpoints(self.model.relations[self._relation_name])
        topology = JujuTopology.from_charm(self._charm)
        layer = log_targets_layer(endpoints, planned, topology)
        return layer if layer.get("log-targets") else None
