"""The Pebble layer every model server runs under, whatever its family.

One service (the rock's, replaced) run as the rocks' unprivileged user, a
`ready` check on the served model and an `alive` check on the server, which
restarts it. The alive check starts disabled: a server opens its port only
once its model is loaded, which can take minutes, and an armed liveness check
would restart it mid-download; the charm starts it once the model is ready.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

import ops

# The container the rock runs in (charmcraft.yaml `containers`), in the pod and in the StatefulSet.
WORKLOAD_CONTAINER = "server"
# The user the rocks declare as run-user; the server never runs as root.
SERVER_USER = "_daemon_"
READY_CHECK = "ready"
ALIVE_CHECK = "alive"
CHECK_PERIOD = "10s"
CHECK_THRESHOLD = 3


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
