"""The proteus charm's layer on the real Pebble, driven by the charm's own code.

The layer is the one the charm adds (read from it through Scenario); Pebble
runs the rock's own wrapper, rocks/proteus-server/bin/amdinfer-serve, which
runs `amdinfer-server` — here the stand-in of tests/workload/standins/amdinfer,
which answers the REST API as DESIGN.md §4 measured it and crashes where the
real server crashes. The `models` option is converged by the family's own code
through a `Workload` on this Pebble (files pushed and pulled by Pebble's file
API, as in the pod), and the actions are the charm's action code.

Only what differs between the pod and this machine is mapped: the wrapper's
path, the repository (/mnt/models) and HOME; `amdinfer-server` is a short
shim on the daemon's PATH that starts the server under test on loopback.
"""

from __future__ import annotations

import json
import pwd
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import ops
import pytest

from bench.servers import REPO_ROOT, free_port
from model_server_charm import actions
from model_server_charm.config import CharmConfig
from model_server_charm.families import family_for
from model_server_charm.families.amdinfer import family as amdinfer_family
from model_server_charm.layer import SERVER_USER
from model_server_charm.server_client import ModelServerClient, ServerUnreachableError
from model_server_charm.workload import Workload
from tests.charm_plan import CharmPlan, charm_plan
from tests.charms import PROTEUS, charm_config
from tests.workload.amdinfer_run import ECHO_REQUEST, make_repository
from tests.workload.amdinfer_server import amdinfer_server, listeners
from tests.workload.harness import host_layer
from tests.workload.pebble_daemon import PebbleDaemon, child_pids, process_uid, running_pebble
from tests.workload.server_runtime import ServerRuntime

WRAPPER = "/usr/local/bin/amdinfer-serve"
READY_TIMEOUT_S = 60.0
RESTART_TIMEOUT_S = 60.0
FAMILY = family_for(PROTEUS.charm_type.runtime)
ECHO_WORKER: dict[str, Any] = {
    "name": "echo-worker",
    "worker": "cplusplus",
    "parameters": {"model": "echo"},
}
TENSOR = {"name": "x", "datatype": "UINT32", "shape": [1]}
THREE = {"inputs": [{"name": "x", "shape": [1], "datatype": "UINT32", "data": [3]}]}
# The rock's own echo entry, which the charm did not write and leaves alone.
ROCK_ENTRY = "echo"


@dataclass(frozen=True)
class ProteusOnPebble:
    """The charm's layer running on Pebble, and the charm's view of it."""

    plan: CharmPlan
    options: Mapping[str, Any]  # the Juju options the layer was planned with
    daemon: PebbleDaemon
    workload: Workload
    client: ModelServerClient
    repository: Path
    model_uri: str  # a model file on the container's disk

    def config(self, models: list[dict[str, Any]]) -> CharmConfig:
        """The charm's configuration: the layer's options and this `models` option."""
        values = {name.replace("-", "_"): value for name, value in self.options.items()}
        # JSON (a YAML subset): objects used twice are written out, not YAML aliases.
        return charm_config(PROTEUS.charm_type.runtime, **values, models=json.dumps(models))

    def repository_model(self, name: str) -> dict[str, Any]:
        """A repository entry of `models` whose file is the container's model file."""
        return {"name": name, "uri": self.model_uri, "platform": "amdinfer_cpp"} | {
            "inputs": [TENSOR],
            "outputs": [TENSOR],
        }

    def converge(self, models: list[dict[str, Any]]) -> ops.StatusBase | None:
        """What the charm does once the server answers: the family's converge_models."""
        return FAMILY.converge_models(self.workload, self.client, self.config(models))

    def action(self, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One of the family's own actions, as the charm runs it."""
        return FAMILY.extra_actions()[action](self.client, self.config([]), params)

    def served(self) -> list[str]:
        """The names list-models gives."""
        return json.loads(self.action("list-models", {})["models"])["models"]

    def start_count(self) -> int:
        """How many times Pebble has started the server."""
        started = ("pebble_service_start_count", self.plan.service.name)
        return self.daemon.metrics().get(started, 0)

    def wait_ready(self) -> None:
        self.daemon.wait_until(
            lambda: self.client.answers("/v2/health/ready"), READY_TIMEOUT_S, "the server ready"
        )


def _container(daemon: PebbleDaemon, name: str) -> ops.Container:
    """The workload container as ops sees it in the pod, on this Pebble.

    ops builds a Container from the unit's model backend, of which it reads only
    the Juju version (for feature checks); there is no Juju here.
    """
    backend = SimpleNamespace(_juju_context=SimpleNamespace(version=ops.JujuVersion("3.6.14")))
    return ops.Container(name, cast(Any, backend), daemon.client)


def _shim(directory: Path) -> Path:
    """`amdinfer-server` on PATH: the server under test (the stand-in on the daemon's python3)."""
    shim = directory / "amdinfer-server"
    shim.write_text(amdinfer_server().launcher())
    shim.chmod(0o755)
    return directory


@pytest.fixture(scope="module")
def proteus(
    pebble_bin: Path, server_runtime: ServerRuntime, tmp_path_factory: pytest.TempPathFactory
) -> Generator[ProteusOnPebble]:
    if server_runtime.user is None:
        reason = server_runtime.why_not_user
        pytest.skip(f"the charm writes the repository as its server's user: {reason}")
    options = {"http-port": free_port(), "grpc-port": free_port(), "log-requests": True}
    plan = charm_plan(PROTEUS, options)
    repository = make_repository(server_runtime.directory("repository"))
    home = server_runtime.directory("home")
    store = server_runtime.directory("store")
    model_file = store / "libecho.so"
    model_file.write_bytes(amdinfer_server().echo_library())
    paths = {
        WRAPPER: str(REPO_ROOT / "rocks" / "proteus-server" / "bin" / "amdinfer-serve"),
        amdinfer_family.REPOSITORY: str(repository),
        plan.service.environment["HOME"]: str(home),
    }
    environment = server_runtime.environment()
    shims = _shim(server_runtime.directory("shims"))
    environment["PATH"] = f"{shims}:{environment['PATH']}"
    pebble_dir = tmp_path_factory.mktemp("pebble") / "proteus"
    with running_pebble(pebble_bin, pebble_dir, environment) as daemon:
        for label, layer in plan.layers.items():
            mapped = host_layer(layer, home, keep_user=True, more_paths=paths)
            daemon.client.add_layer(label, mapped, combine=True)
        daemon.client.replan_services()
        client = ModelServerClient.on_port(int(options["http-port"]), "127.0.0.1", timeout=10)
        workload = Workload(_container(daemon, "proteus-server"), plan.service.name, "", None)
        proteus = ProteusOnPebble(
            plan, options, daemon, workload, client, repository, str(model_file)
        )
        proteus.wait_ready()
        server = _pid_of(proteus, amdinfer_server().command_line_mark)
        exposed = [found for found in listeners(server) if not found.is_loopback]
        assert not exposed, f"{amdinfer_server().name} listens beyond loopback: {exposed}"
        with pytest.MonkeyPatch.context() as patch:
            # The family writes to /mnt/models in the pod; here that is `repository`.
            patch.setattr(amdinfer_family, "REPOSITORY", str(repository))
            yield proteus


def _pid_of(proteus: ProteusOnPebble, command: str) -> int:
    """The service's process running `command` (the wrapper, or the server it started)."""
    for pid in [proteus.daemon.service_pid(), *child_pids(proteus.daemon.service_pid())]:
        if command in " ".join(_cmdline(pid)):
            return pid
    raise AssertionError(f"no process of the service runs {command}")


def _cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def test_the_rocks_wrapper_runs_the_server_as_the_layers_user(proteus: ProteusOnPebble):
    wrapper = _pid_of(proteus, "amdinfer-serve")
    server = _pid_of(proteus, amdinfer_server().command_line_mark)

    assert process_uid(wrapper) == process_uid(server) == pwd.getpwnam(SERVER_USER).pw_uid
    assert f"--model-repository={proteus.repository}" in _cmdline(server)


def test_smoke_test_gets_four_for_three(proteus: ProteusOnPebble):
    results = actions.smoke_test(proteus.client, FAMILY, proteus.config([]))

    assert results["result"] == "passed: the example model gave the documented answer"
    assert json.loads(results["response"])["outputs"][0]["data"] == [4]


def test_models_are_written_as_the_server_user_loaded_and_served(proteus: ProteusOnPebble):
    models = [proteus.repository_model("adder"), ECHO_WORKER]

    problem = proteus.converge(models)

    assert problem is None
    written = proteus.repository / "adder" / "1" / "libecho.so"
    assert written.read_bytes() == Path(proteus.model_uri).read_bytes()
    assert written.owner() == SERVER_USER
    assert {"adder", ROCK_ENTRY} <= set(proteus.served())
    params = actions.PredictParams(
        PROTEUS.charm_type.runtime, json.dumps(THREE), "v2", model="adder"
    )
    answer = actions.predict(proteus.client, FAMILY, proteus.config(models), params)
    assert json.loads(answer["response"])["outputs"][0]["data"] == [4]


def test_removed_models_are_unloaded_and_removed_but_not_the_rocks(proteus: ProteusOnPebble):
    proteus.converge([proteus.repository_model("gone")])

    problem = proteus.converge([])

    assert problem is None
    assert not (proteus.repository / "gone").exists()
    assert "gone" not in proteus.served()
    assert ROCK_ENTRY in proteus.served()


def test_predict_refuses_a_request_that_would_crash_the_server(proteus: ProteusOnPebble):
    models = [proteus.repository_model("adder")]
    proteus.converge(models)
    two_inputs = {"inputs": THREE["inputs"] * 2}
    params = actions.PredictParams(PROTEUS.charm_type.runtime, json.dumps(two_inputs), "v2")
    started = proteus.start_count()

    with pytest.raises(actions.ActionFailedError, match="not sent"):
        actions.predict(proteus.client, FAMILY, proteus.config(models), params)

    assert proteus.client.answers("/v2/health/ready")
    assert proteus.start_count() == started


def test_unload_and_load_actions_on_a_repository_entry(proteus: ProteusOnPebble):
    unloaded = proteus.action("unload-model", {"name": ROCK_ENTRY})
    served_without = proteus.served()
    loaded = proteus.action("load-model", {"name": ROCK_ENTRY})

    assert (unloaded["result"], loaded["result"]) == ("echo: unloaded", "echo: loaded")
    assert ROCK_ENTRY not in served_without
    assert ROCK_ENTRY in proteus.served()


def test_after_a_crash_pebble_restarts_the_server_and_the_charm_reloads(
    proteus: ProteusOnPebble,
):
    models = [proteus.repository_model("adder"), ECHO_WORKER]
    proteus.converge(models)
    started = proteus.start_count()

    # Another client's body that is not JSON: amdinfer-server dies of SIGSEGV, unanswered.
    with pytest.raises(ServerUnreachableError, match="closed connection without response"):
        proteus.client.post("/v2/models/adder/infer", b"not json")
    proteus.daemon.wait_until(
        lambda: proteus.start_count() > started, RESTART_TIMEOUT_S, "Pebble restarting it"
    )
    proteus.wait_ready()
    reloaded_by_the_server = proteus.served()
    problem = proteus.converge(models)

    assert problem is None
    assert "adder" in reloaded_by_the_server, "--repository-load-existing"
    assert len(proteus.served()) > len(reloaded_by_the_server), "the worker model is back"


def test_request_lines_reach_pebbles_log_through_the_wrapper(proteus: ProteusOnPebble):
    service_prefix = f"[{proteus.plan.service.name}]"

    proteus.client.post("/v2/models/echo/infer", json.dumps(ECHO_REQUEST).encode())

    def logged() -> list[str]:
        lines = proteus.daemon.log_tail(200).splitlines()
        return [line for line in lines if "[server] [info]" in line and service_prefix in line]

    proteus.daemon.wait_until(lambda: bool(logged()), 20, "a request line in the service's log")
