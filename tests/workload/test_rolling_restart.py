"""A model-uri change through three units on real Pebble daemons, with and without rolling.

Each unit is the charm under Scenario (`tests.peer_units`) whose container is
its own real Pebble daemon (`unit_pebble`), serving the sklearn stand-in on
its own loopback ports: the charm's roll-out code drains, restarts and waits
for each unit. Meanwhile a bounded client sends requests round-robin as the
application's Kubernetes Service would, to the units whose Pebble reports
ready (`/v1/health?level=ready`, what Juju's readiness probe reads), and
counts the requests that fail. With the `restart` peer relation the change
rolls and no request fails; without it each unit restarts in its own
config-changed, as every unit did before rolling restarts, and requests fail.
Both counts are printed.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Generator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from ops import pebble, testing

from bench.models.iris import build_sklearn
from bench.servers import ServedModel, free_port
from model_server_charm import k8s_resources
from model_server_charm.charm import WORKLOAD_CONTAINER
from model_server_charm.server_client import ServerUnreachableError
from tests.charm_plan import UntrustedClient
from tests.charms import REPRESENTATIVE
from tests.peer_units import Application
from tests.workload.pebble_daemon import PebbleDaemon, running_pebble, wait_until
from tests.workload.server_runtime import ServerRuntime
from tests.workload.unit_pebble import MappedPebble, units_on_pebble

pytestmark = pytest.mark.slow

UNITS = 3
READY_TIMEOUT_S = 120.0
# The client's bounds: a request every 20 ms at most, for at most this long.
REQUEST_INTERVAL_S = 0.02
CLIENT_LIMIT_S = 600.0
# After the last unit answers again, the client goes on this long.
AFTER_S = 3.0
BODY = json.dumps({"instances": [[6.8, 2.8, 4.8, 1.4]]}).encode()


@dataclass
class Unit:
    daemon: PebbleDaemon
    client: ServedModel


@dataclass
class ServiceClient:
    """Requests round-robin over the ready units, as a Kubernetes Service sends them."""

    units: list[Unit]
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list[str])
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        deadline = time.monotonic() + CLIENT_LIMIT_S
        turn = 0
        while not self.stop.is_set() and time.monotonic() < deadline:
            ready = [unit for unit in self.units if unit.daemon.healthy("ready")]
            self.sent += 1
            if not ready:
                self._fail("no unit ready")
            else:
                self._send(ready[turn % len(ready)])
            turn += 1
            time.sleep(REQUEST_INTERVAL_S)

    def _send(self, unit: Unit) -> None:
        try:
            answer = unit.client.infer("v1", BODY)
        except ServerUnreachableError as error:
            self._fail(str(error))
            return
        if not answer.ok:
            self._fail(f"{unit.client.base_url}: HTTP {answer.status}")

    def _fail(self, why: str) -> None:
        self.failed += 1
        if len(self.errors) < 5:
            self.errors.append(why)


@contextmanager
def requests_meanwhile(units: list[Unit]) -> Generator[ServiceClient]:
    client = ServiceClient(units)
    thread = threading.Thread(target=client.run, daemon=True)
    thread.start()
    try:
        yield client
    finally:
        client.stop.set()
        thread.join()


def _change_model(
    pebble_bin: Path, server_runtime: ServerRuntime, tmp_path: Path, rolling: bool
) -> ServiceClient:
    """Serve model A on three units, then set model-uri to model B on every unit."""
    models = [server_runtime.model_directory(name, build_sklearn) for name in ("a", "b")]
    ports = [(free_port(), free_port()) for _ in range(UNITS)]

    def state(unit: int) -> testing.State:
        http, grpc = ports[unit]
        config = {"model-uri": str(models[0]), "http-port": http, "grpc-port": grpc, "workers": 1}
        container = testing.Container(WORKLOAD_CONTAINER, can_connect=True)
        return testing.State(config=config, containers={container})

    app = Application.of(REPRESENTATIVE.charm_type, state, UNITS, peers=rolling)
    with ExitStack() as stack:
        units, clients = [], {}
        for unit in range(UNITS):
            pebble_dir = tmp_path / f"pebble-{unit}"
            daemon = stack.enter_context(
                running_pebble(pebble_bin, pebble_dir, server_runtime.environment())
            )
            scratch = server_runtime.directory(f"unit-{unit}")
            keep_user = server_runtime.user is not None
            clients[unit] = MappedPebble(daemon.socket_path, scratch, keep_user)
            units.append(Unit(daemon, ServedModel.at(ports[unit][0], "model", timeout=5)))
        stack.enter_context(units_on_pebble(clients))
        for unit in app.states:
            app.run(unit, lambda ctx: ctx.on.config_changed())
        _wait_serving(units)
        for unit in app.states:
            app.run(unit, lambda ctx: ctx.on.update_status())  # arms the alive checks

        with requests_meanwhile(units) as client:
            for unit, state_now in list(app.states.items()):
                config = {**state_now.config, "model-uri": str(models[1])}
                app.states[unit] = dataclasses.replace(state_now, config=config)
                app.run(unit, lambda ctx: ctx.on.config_changed())
            app.settle()
            _wait_serving(units)
            time.sleep(AFTER_S)
        assert all(unit.daemon.healthy("ready") for unit in units)
    return client


def _wait_serving(units: list[Unit]) -> None:
    for unit in units:
        wait_until(unit.client.model_ready, READY_TIMEOUT_S, "the model ready")
        wait_until(lambda u=unit: u.daemon.healthy("ready"), READY_TIMEOUT_S, "Pebble ready")


def test_a_model_change_rolls_through_three_units_without_a_failed_request(
    pebble_bin: Path,
    server_runtime: ServerRuntime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(k8s_resources, "kube_client", UntrustedClient)  # no cluster here

    rolled = _change_model(pebble_bin, server_runtime, tmp_path / "rolling", rolling=True)
    at_once = _change_model(pebble_bin, server_runtime, tmp_path / "at-once", rolling=False)

    print(
        f"\nmodel-uri change on {UNITS} units, requests round-robin to ready units:"
        f"\n  rolling:  {rolled.sent} requests, {rolled.failed} failed"
        f"\n  at once:  {at_once.sent} requests, {at_once.failed} failed {at_once.errors[:2]}"
    )
    assert rolled.failed == 0, rolled.errors
    assert at_once.failed > 0


# What an earlier revision could have left in the plan: a service and a failing ready check.
EARLIER_LAYER: pebble.LayerDict = {
    "services": {
        "old-server": {
            "override": "replace",
            "command": 'python3 -c "import time; time.sleep(600)"',
            "startup": "enabled",
        }
    },
    "checks": {
        "model-ready": {
            "override": "replace",
            "level": "ready",
            "period": "1s",
            "threshold": 1,
            "http": {"url": "http://127.0.0.1:1/"},
        }
    },
}


def test_an_upgrade_disables_what_an_earlier_revision_planned(
    pebble_bin: Path,
    server_runtime: ServerRuntime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(k8s_resources, "kube_client", UntrustedClient)
    model = server_runtime.model_directory("model", build_sklearn)
    http, grpc = free_port(), free_port()
    config = {"model-uri": str(model), "http-port": http, "grpc-port": grpc, "workers": 1}
    container = testing.Container(WORKLOAD_CONTAINER, can_connect=True)
    app = Application.of(
        REPRESENTATIVE.charm_type,
        lambda _: testing.State(config=config, containers={container}),
        units=1,
    )
    environment = server_runtime.environment()
    with running_pebble(pebble_bin, tmp_path / "pebble", environment) as daemon:
        daemon.client.add_layer("earlier-revision", EARLIER_LAYER)
        daemon.client.replan_services()
        daemon.wait_until(lambda: not daemon.healthy("ready"), 30, "the old check failing")
        scratch = server_runtime.directory("unit")
        clients = {0: MappedPebble(daemon.socket_path, scratch, server_runtime.user is not None)}
        with units_on_pebble(clients):
            app.run(0, lambda ctx: ctx.on.upgrade_charm())
            unit = Unit(daemon, ServedModel.at(http, "model", timeout=5))
            _wait_serving([unit])

        (old,) = daemon.client.get_services(["old-server"])
        (check,) = daemon.client.get_checks(names=["model-ready"])
        plan = daemon.client.get_plan()
        starts = daemon.metrics()[("pebble_service_start_count", "old-server")]
    print(f"\nthe earlier revision's service was started {starts} times in all")
    assert old.current == pebble.ServiceStatus.INACTIVE
    assert plan.services["old-server"].startup == "disabled"
    assert check.status == pebble.CheckStatus.INACTIVE
    assert plan.checks["model-ready"].startup == pebble.CheckStartup.DISABLED
