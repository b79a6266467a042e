"""The server command and environment a charm puts in its Pebble plan, read from the charm.

The real charm runs under Scenario (ops.testing) with the given Juju options,
and the service is read back from the container's plan: what these tests check
against the rock is exactly what the charm would ask Pebble to run, never a
command retyped here.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from ops import testing

from model_server_charm.charm import WORKLOAD_CONTAINER
from tests.charms import ThinCharm


@dataclass(frozen=True)
class PlannedService:
    """The charm's service for its runtime, as Pebble would run it."""

    argv: list[str]
    environment: dict[str, str]
    user: str


def planned_service(charm: ThinCharm, options: dict[str, Any]) -> PlannedService:
    """Run config-changed on the charm with these options and read its service back."""
    ctx = testing.Context(charm.charm_type)
    state = testing.State(
        config=options,
        leader=True,
        containers={testing.Container(WORKLOAD_CONTAINER, can_connect=True)},
    )
    out = ctx.run(ctx.on.config_changed(), state)
    service_name = charm.charm_type.runtime.service_name
    services = out.get_container(WORKLOAD_CONTAINER).plan.services
    assert service_name in services, (
        f"{charm.name} planned no {service_name!r} service with {options}: {out.unit_status}"
    )
    service = services[service_name]
    return PlannedService(
        argv=shlex.split(service.command),
        environment=dict(service.environment),
        user=service.user or "",
    )
