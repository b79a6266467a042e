"""upgrade-charm: what an earlier revision planned is disabled; a new server plan rolls.

Pebble keeps the layers the previous revision added until the pod restarts,
and a layer cannot be removed: services and checks the charm no longer
defines are disabled and stopped (inert, outside Pebble's health), and a
server plan that differs restarts one unit at a time like any other change.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from ops import pebble, testing

from tests.charms import REPRESENTATIVE
from tests.peer_units import Application
from tests.unit.conftest import MODEL_URI, container, planned_layer, running_container
from tests.unit.fake_server import FakeModelServer

pytestmark = pytest.mark.usefixtures("instant_waits")

SERVICE = REPRESENTATIVE.charm_type.runtime.service_name
# A layer under names this charm does not plan: a service and checks of another revision.
OLD_LAYER = pebble.Layer(
    {
        "services": {
            "kserve-server": {
                "override": "replace",
                "command": "python3 -m old",
                "startup": "enabled",
            }
        },
        "checks": {
            "model-ready": {"override": "replace", "level": "ready", "http": {"url": "http://x/"}},
            "server-alive": {"override": "replace", "level": "alive", "tcp": {"port": 8080}},
        },
    }
)


def _old_check(name: str, level: pebble.CheckLevel) -> testing.CheckInfo:
    return testing.CheckInfo(name, level=level, status=pebble.CheckStatus.UP)


def test_services_and_checks_of_an_earlier_revision_are_disabled_and_stopped(
    fake: FakeModelServer,
):
    current = planned_layer(REPRESENTATIVE, http_port=fake.port, model_uri=MODEL_URI)
    server = container(
        layers={"model-server": OLD_LAYER, SERVICE: current},
        service=pebble.ServiceStatus.ACTIVE,
        service_name="kserve-server",
    )
    old_checks = {
        _old_check("model-ready", pebble.CheckLevel.READY),
        _old_check("server-alive", pebble.CheckLevel.ALIVE),
    }
    server = dataclasses.replace(server, check_infos=frozenset(old_checks))
    state = testing.State(
        config={"model-uri": MODEL_URI, "http-port": fake.port}, containers={server}
    )
    ctx = testing.Context(REPRESENTATIVE.charm_type)

    out = ctx.run(ctx.on.upgrade_charm(), state).get_container("server")

    assert out.plan.services["kserve-server"].startup == "disabled"
    assert out.service_statuses["kserve-server"] == pebble.ServiceStatus.INACTIVE
    for name in ("model-ready", "server-alive"):
        assert out.plan.checks[name].startup == pebble.CheckStartup.DISABLED
        assert out.get_check_info(name).status == pebble.CheckStatus.INACTIVE
    assert out.service_statuses[SERVICE] == pebble.ServiceStatus.ACTIVE


@pytest.mark.parametrize(
    ("previous_options", "queued"),
    [({}, False), ({"workers": 1, "log_requests": True}, True)],
    ids=["the same server plan", "another server plan"],
)
def test_an_upgrade_restarts_nothing_or_rolls(
    fake: FakeModelServer, tmp_path: Path, previous_options: dict[str, Any], queued: bool
):
    def state(unit: int) -> testing.State:
        server = running_container(REPRESENTATIVE, fake.port, **previous_options)
        return testing.State(
            config={"model-uri": MODEL_URI, "http-port": fake.port}, containers={server}
        )

    app = Application.of(REPRESENTATIVE.charm_type, state, units=3)
    before = {unit: app.states[unit].get_container("server").plan for unit in app.states}

    for unit in app.states:
        app.run(unit, lambda ctx: ctx.on.upgrade_charm())

    assert all(("operations" in app.unit_data(unit)) is queued for unit in app.states)
    assert all(app.states[u].get_container("server").plan == before[u] for u in app.states)
    app.settle()
    assert app.granted() == ""
    assert {app.states[unit].unit_status.name for unit in app.states} == {"active"}
