"""The Pebble layer every model server runs under, whatever its family.

One service (the rock's, replaced) run as the rocks' unprivileged user, a
`ready` check on the served model and an `alive` check on the server, which
restarts it. The alive check starts disabled: a server opens its port only
once its model is loaded, which can take minutes, and an armed liveness check
would restart it mid-download; the charm starts it once the model is ready.

While a unit takes its turn in a rolling restart its ready check is replaced by
one that fails at once (`draining`): Pebble's ready health, which Juju's
readiness probe reads, turns down, and Kubernetes stops sending the unit
requests before its server stops. The check comes back once the new server's
model is ready.
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
# Port 0 refuses every connection: a ready check on it is down after one period.
DRAINING_URL = "http://localhost:0/draining"
DRAINING_PERIOD = "1s"
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


def draining(layers: Mapping[str, ops.pebble.LayerDict]) -> dict[str, ops.pebble.LayerDict]:
    """The same layers with the ready check replaced by one that fails at once."""
    drained: dict[str, ops.pebble.LayerDict] = {}
    for label, layer in layers.items():
        checks = layer.get("checks", {})
        if READY_CHECK in checks:
            ready: ops.pebble.CheckDict = {**checks[READY_CHECK]}
            ready.update(period=DRAINING_PERIOD, threshold=1, http={"url": DRAINING_URL})
            layer = ops.pebble.LayerDict(**layer)
            layer["checks"] = {**checks, READY_CHECK: ready}
        drained[label] = layer
    return drained


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

        Empty when there is nothing to disable. The rocks declare one service,
        the one the charm replaces, and no check: any other service or check
        was planned by an earlier revision of the charm (or by hand) and must
        not run, nor count in Pebble's health.
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
