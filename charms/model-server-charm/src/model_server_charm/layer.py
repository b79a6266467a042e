"""The Pebble layer every model server runs under, whatever its family.

One service (the rock's, replaced) run as the rocks' unprivileged user, a
`ready` check on the served model and an `alive` check on the server, which
restarts it. The alive check starts disabled: a server opens its port only
once its model is loaded, which can take minutes, and an armed liveness check
would restart it mid-download; the charm starts it once the model is ready.

Pebble's ready health, which Juju's readiness probe reads, decides whether
Kubernetes sends the unit requests. Pebble counts a new check as up until it
has failed `threshold` times, so the ordinary ready check (every 10 s, down
after 3 failures) would keep a server that has just started in rotation for
up to 30 s while it loads its model. Two variants of the check turn the unit
unready within a second, both every second and down after one failure:

* `loading`: the same URL, planned with a server that starts (a new unit, a
  restart): it stays down until the model answers, and its recovery is the
  Pebble event on which the charm plans the ordinary check;
* `draining`: a URL that always fails, while a unit takes its turn in a rolling
  restart, so that Kubernetes stops sending it requests before its server
  stops. The ordinary check comes back once the new server's model is ready.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import ops

# The container the rock runs in (charmcraft.yaml `containers`), in the pod and in the StatefulSet.
WORKLOAD_CONTAINER = "server"
# The user the rocks declare as run-user; the server never runs as root.
SERVER_USER = "_daemon_"
READY_CHECK = "ready"
ALIVE_CHECK = "alive"
CHECK_PERIOD = "10s"
CHECK_THRESHOLD = 3
# A ready check that turns the unit unready within a second of failing.
QUICK_READY_CHECK: ops.pebble.CheckDict = {"period": "1s", "threshold": 1}
# Port 0 refuses every connection: a ready check on it is down after one period.
DRAINING_URL = "http://localhost:0/draining"
# The label of the layer that disables what earlier revisions planned.
RETIRED_LAYER = "retired"


def server_layer(
    *,
    service: str,
    summary: str,
    command: Sequence[str],
    environment: dict[str, str],
    ready_url: str,
    live_url: str,
) -> ops.pebble.LayerDict:
    """The layer running `command` as `service`, with the ready and alive checks."""
    return {
        "summary": summary,
        "services": {
            service: {
                "override": "replace",
                "summary": summary,
                "command": shlex.join(command),
                "startup": "enabled",
                "user": SERVER_USER,
                "environment": environment,
                "on-check-failure": {ALIVE_CHECK: "restart"},
            }
        },
        "checks": {
            READY_CHECK: {
                "override": "replace",
                "level": "ready",
                "period": CHECK_PERIOD,
                "threshold": CHECK_THRESHOLD,
                "http": {"url": ready_url},
            },
            ALIVE_CHECK: {
                "override": "replace",
                "level": "alive",
                "startup": "disabled",
                "period": CHECK_PERIOD,
                "threshold": CHECK_THRESHOLD,
                "http": {"url": live_url},
            },
        },
    }


def _with_ready_check(
    layers: Mapping[str, ops.pebble.LayerDict], changes: ops.pebble.CheckDict
) -> dict[str, ops.pebble.LayerDict]:
    """The same layers with `changes` made to the ready check."""
    changed: dict[str, ops.pebble.LayerDict] = {}
    for label, layer in layers.items():
        checks = layer.get("checks", {})
        if READY_CHECK in checks:
            ready = ops.pebble.CheckDict(**checks[READY_CHECK])
            ready.update(changes)
            layer = ops.pebble.LayerDict(**layer)
            layer["checks"] = {**checks, READY_CHECK: ready}
        changed[label] = layer
    return changed


def draining(layers: Mapping[str, ops.pebble.LayerDict]) -> dict[str, ops.pebble.LayerDict]:
    """The same layers with the ready check replaced by one that fails at once."""
    return _with_ready_check(layers, {**QUICK_READY_CHECK, "http": {"url": DRAINING_URL}})


def loading(layers: Mapping[str, ops.pebble.LayerDict]) -> dict[str, ops.pebble.LayerDict]:
    """The same layers with the ready check down within a second until the model answers."""
    return _with_ready_check(layers, QUICK_READY_CHECK)


@dataclass(frozen=True)
class ServerPlan:
    """What the server container should run.

    `server` holds the layers of the server's service and checks: a change to
    a service in them restarts the server. `others` change nothing that runs
    (log targets). `files` are written before the replan; of `managed_files`,
    those not in `files` are removed.
    """

    server: Mapping[str, ops.pebble.LayerDict]
    others: Mapping[str, ops.pebble.LayerDict] = field(default_factory=dict[str, Any])
    files: Mapping[str, str] = field(default_factory=dict[str, str])
    managed_files: tuple[str, ...] = ()

    @property
    def layers(self) -> dict[str, ops.pebble.LayerDict]:
        """Every layer, the server's first."""
        return {**self.server, **self.others}

    def draining(self) -> ServerPlan:
        """The same plan with the ready check failing: the unit stays out of rotation."""
        return replace(self, server=draining(self.server))

    def loading(self) -> ServerPlan:
        """The same plan with the quick ready check: out of rotation until the model answers."""
        return replace(self, server=loading(self.server))

    def drain_layers(self) -> dict[str, ops.pebble.LayerDict]:
        """Layers changing only the ready check, to the draining one."""
        drained = self.draining().server.items()
        checks = ((label, layer.get("checks", {})) for label, layer in drained)
        return {
            label: {"checks": {READY_CHECK: check[READY_CHECK]}}
            for label, check in checks
            if READY_CHECK in check
        }

    def drains(self, planned: ops.pebble.Plan) -> bool:
        """Whether the planned ready check is the draining one (a unit's turn in a roll-out)."""
        ready = planned.checks.get(READY_CHECK)
        return ready is not None and (ready.http or {}).get("url") == DRAINING_URL

    def restarts(self, planned: ops.pebble.Plan) -> bool:
        """Whether applying this plan restarts the server: one of its services differs."""
        return any(
            planned.services.get(name) != ops.pebble.Service(name, definition)
            for layer in self.server.values()
            for name, definition in layer.get("services", {}).items()
        )

    def defines(self) -> tuple[set[str], set[str]]:
        """The names of the services and of the checks its layers define."""
        layers = self.layers.values()
        services = {name for layer in layers for name in layer.get("services", {})}
        checks = {name for layer in layers for name in layer.get("checks", {})}
        return services, checks

    def retired(self, planned: ops.pebble.Plan) -> dict[str, ops.pebble.LayerDict]:
        """The layer disabling what the plan has and this plan does not define.

        Empty when there is nothing to disable. The rocks declare one service
        and at most the `ready` check, both of which the charm replaces: any
        other service or check was planned by an earlier revision of the charm
        (or by hand) and must not run, nor count in Pebble's health.
        Pebble cannot remove them from the plan; disabled and stopped, they are inert.
        """
        services, checks = self.defines()
        disabled: Any = {"override": "merge", "startup": "disabled"}
        stale_services = {
            name: disabled
            for name, service in planned.services.items()
            if name not in services and service.startup != "disabled"
        }
        stale_checks = {
            name: disabled
            for name, check in planned.checks.items()
            if name not in checks and check.startup != ops.pebble.CheckStartup.DISABLED
        }
        if not (stale_services or stale_checks):
            return {}
        summary = "Services and checks of earlier revisions, disabled"
        layer: ops.pebble.LayerDict = {
            "summary": summary,
            "services": stale_services,
            "checks": stale_checks,
        }
        return {RETIRED_LAYER: layer}
