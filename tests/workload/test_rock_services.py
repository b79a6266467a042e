"""Each rock's own Pebble service, started by the real Pebble as KServe starts the rock.

Rockcraft makes a rock's OCI entrypoint `pebble enter --args <entrypoint-service>`
and its CMD the `[ … ]` default arguments of that service's command, so the
arguments given to a container replace the defaults. KServe runs a rock as
its ClusterServingRuntime says: the manifest's args are the container's
arguments and its `env` the container's environment, which Pebble's services
inherit. Here the rock's `services:` (rockcraft.yaml, unchanged but for scratch
paths and /mnt/models, where KServe puts the model) are the layer file
rockcraft writes ($PEBBLE/layers/001-<rock>.yaml), and
`pebble enter --args <service> <runtime args>` starts them with the manifest's
env (`tests.workload.kserve_runtime`: its args with the model's name and
format filled in and free loopback ports). Every rock whose entrypoint runs
kserve_launcher serves each case of its charm (tests/workload/charm_cases.py)
and answers the case's requests as the case expects.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import cast

import pytest
import yaml
from ops import pebble

from bench.servers import ServedModel, free_port
from scripts.kserve_rocks import MODEL_DIR
from tests.rocks.rockcraft_projects import ROCKS, RockProject, spec_of
from tests.workload.charm_cases import CASES, CharmCase
from tests.workload.harness import host_layer
from tests.workload.kserve_runtime import runtime_container
from tests.workload.pebble_daemon import running_pebble
from tests.workload.server_runtime import ServerRuntime

LAUNCHER_ROCKS = [rock for rock in ROCKS if rock.launched_module]
# Each launcher rock with each case of its charm.
ROCKS_AND_CASES = [
    (rock, case)
    for rock in LAUNCHER_ROCKS
    for case in CASES
    if case.charm.name == spec_of(rock).charm
]
ROCK_CASES = [
    pytest.param(rock, case, id=f"{rock.name}-{case.name}", marks=[*case.marks, pytest.mark.slow])
    for rock, case in ROCKS_AND_CASES
]
REQUEST_TIMEOUT_S = 60
# The rocks' ready check runs every second: a few periods.
CHECK_TIMEOUT_S = 5.0


def _write_rock_layer(
    rock: RockProject, pebble_dir: Path, scratch: Path, model_dir: Path, http_port: int
) -> None:
    """The layer rockcraft puts in the rock: summary, description, services and checks.

    The checks' port is KServe's 8080 in the rock, the test's `http_port` here.
    """
    checks = {
        name: {**check, "tcp": {**check["tcp"], "port": http_port}} if "tcp" in check else check
        for name, check in rock.checks.items()
    }
    raw = {
        "summary": rock.data["summary"],
        "description": rock.data["description"],
        "services": rock.services,
        "checks": checks,
    }
    layer = pebble.Layer(cast("pebble.LayerDict", raw))
    layers = pebble_dir / "layers"
    layers.mkdir(parents=True)
    mapped = host_layer(layer, scratch, keep_user=True, more_paths={MODEL_DIR: str(model_dir)})
    (layers / f"001-{rock.name}.yaml").write_text(yaml.safe_dump(mapped))


def _proc(pid: int, name: str) -> list[str]:
    """A process's NUL-separated /proc file (cmdline, environ)."""
    return Path(f"/proc/{pid}/{name}").read_bytes().decode().split("\0")[:-1]


def test_every_launcher_rock_serves_a_case():
    served = {rock.name for rock, _ in ROCKS_AND_CASES}
    assert served == {rock.name for rock in LAUNCHER_ROCKS}


@pytest.mark.parametrize(("rock", "case"), ROCK_CASES)
def test_the_rocks_entrypoint_service_serves_with_its_kserve_runtime(
    rock: RockProject,
    case: CharmCase,
    pebble_bin: Path,
    server_runtime: ServerRuntime,
    tmp_path: Path,
):
    model_dir = server_runtime.model_directory(f"{case.name}-model", case.build)
    port = free_port()
    container = runtime_container(case, case.name, model_dir, port, free_port())
    pebble_dir = tmp_path / "pebble"
    _write_rock_layer(rock, pebble_dir, server_runtime.directory("scratch"), model_dir, port)
    service = rock.entrypoint_service
    client = ServedModel.at(port, case.name, timeout=REQUEST_TIMEOUT_S)
    environment = {**server_runtime.environment(), **container.environment}

    with running_pebble(
        pebble_bin, pebble_dir, environment, "enter", [service, *container.args]
    ) as daemon:
        daemon.wait_until(client.model_ready, case.ready_timeout_s, f"{rock.name}'s model ready")
        daemon.wait_until(daemon.healthy, CHECK_TIMEOUT_S, "Pebble ready once the server listens")
        pid = daemon.service_pid()
        argv, process_environment = _proc(pid, "cmdline"), _proc(pid, "environ")
        answers = case.answers(client, model_dir)
        (info,) = daemon.client.get_services([service])

    fixed = [word.replace(MODEL_DIR, str(model_dir)) for word in rock.service_command().fixed]
    assert argv == [*fixed, *container.args]  # the defaults replaced by the runtime's args
    assert {f"{name}={value}" for name, value in container.environment.items()} <= set(
        process_environment
    )
    assert answers == {
        example.name: example.expected_with_kserve_args for example in case.examples
    }
    assert info.startup == pebble.ServiceStartup.ENABLED
    assert info.current == pebble.ServiceStatus.ACTIVE


@pytest.mark.parametrize("rock", LAUNCHER_ROCKS, ids=lambda rock: rock.name)
def test_a_rocks_pebble_is_ready_only_while_its_server_listens(
    rock: RockProject, pebble_bin: Path, tmp_path: Path
):
    """Pebble as Juju runs it in a new pod (`--hold`: no service started before the charm's)."""
    port = free_port()
    pebble_dir = tmp_path / "pebble"
    _write_rock_layer(rock, pebble_dir, tmp_path / "scratch", tmp_path / "model", port)

    with running_pebble(pebble_bin, pebble_dir, {"PATH": os.environ["PATH"]}, hold=True) as daemon:
        daemon.wait_until(lambda: not daemon.healthy(), CHECK_TIMEOUT_S, "Pebble not ready")
        with socket.create_server(("127.0.0.1", port)):  # the server's port opens
            daemon.wait_until(daemon.healthy, CHECK_TIMEOUT_S, "Pebble ready")
        (ready,) = daemon.client.get_checks(names=["ready"])

    assert ready.level == pebble.CheckLevel.READY
    assert (ready.threshold, rock.checks["ready"]["period"]) == (1, "1s")
