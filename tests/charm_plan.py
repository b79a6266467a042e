"""The Pebble plan a charm writes for its server, read from the charm itself.

The real charm runs under Scenario (ops.testing) with the given Juju options
(and relations) and the plan is read back from its container: what the workload
and rock tests run and check is exactly what the charm would ask Pebble to run,
never a command retyped in a test. The layers the charm added are kept whole,
by label, for the tests that hand them to a real Pebble daemon.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn
from unittest import mock

from lightkube import ApiError
from lightkube.models.meta_v1 import Status
from ops import pebble, testing

from model_server_charm import k8s_resources
from model_server_charm.charm import WORKLOAD_CONTAINER
from tests.charms import ThinCharm


class UntrustedClient:
    """The Kubernetes API as an application deployed without `--trust` sees it: 403s.

    There is no cluster on a test machine; a sidecar charm without resource
    options needs none and must plan its server all the same.
    """

    def __init__(self, *_: object, **__: object) -> None:
        """Accept whatever the charm's client factory passes."""

    def __getattr__(self, verb: str) -> Any:
        def forbidden(*_: object, **__: object) -> NoReturn:
            raise ApiError(
                status=Status(code=403, reason="Forbidden", message=f"{verb}: untrusted")
            )

        return forbidden


@dataclass(frozen=True)
class CharmPlan:
    """The charm's service for its runtime, the plan's checks, the layers and the charm's state.

    `layers` are the layers the charm added to its container, by label, in
    order; `state` is the State the charm left, for a next event.
    """

    service: pebble.Service
    checks: Mapping[str, pebble.Check]
    layers: Mapping[str, pebble.Layer]
    state: testing.State

    @property
    def argv(self) -> list[str]:
        """The command as Pebble splits it."""
        return shlex.split(self.service.command)

    @property
    def environment(self) -> dict[str, str]:
        """The service's environment."""
        return dict(self.service.environment)

    @property
    def user(self) -> str:
        """The user Pebble runs the service as."""
        return self.service.user or ""


def charm_plan(
    charm: ThinCharm,
    options: Mapping[str, Any],
    relations: Iterable[testing.RelationBase] = (),
) -> CharmPlan:
    """Run config-changed on the charm (leader) with these options and read its plan back."""
    ctx = testing.Context(charm.charm_type)
    state = testing.State(
        config=dict(options),
        leader=True,
        containers={testing.Container(WORKLOAD_CONTAINER, can_connect=True)},
        relations=set(relations),
    )
    with mock.patch.object(k8s_resources, "kube_client", UntrustedClient):
        out = ctx.run(ctx.on.config_changed(), state)
    container = out.get_container(WORKLOAD_CONTAINER)
    plan = container.plan
    service_name = charm.charm_type.runtime.service_name
    assert service_name in plan.services, (
        f"{charm.name} planned no {service_name!r} service with {options}: {out.unit_status}"
    )
    return CharmPlan(
        service=plan.services[service_name],
        checks=dict(plan.checks),
        layers=dict(container.layers),
        state=out,
    )
