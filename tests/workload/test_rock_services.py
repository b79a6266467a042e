"""Each rock's own Pebble service, started by the real Pebble as the rock's entrypoint starts it.

Rockcraft makes a rock's OCI entrypoint `pebble enter --args <entrypoint-service>`
and its CMD the `[ … ]` default arguments of that service's command, so the
arguments given to a container (`docker run <rock> --model_dir=…`) replace
the defaults. Here the rock's `services:` (rockcraft.yaml, unchanged but for
scratch paths) are the layer file rockcraft writes ($PEBBLE/layers/001-<rock>.yaml),
and `pebble enter --args <service> <arguments>` starts them, with a free port
and a test model as the container's arguments. Every rock whose entrypoint
runs kserve_launcher is covered; a rock without a test model here skips.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from ops import pebble

from bench.models.iris import train_iris_model
from bench.servers import ServedModel, free_port
from model_server_charm.runtimes import RUNTIMES, Runtime
from tests.rocks.rockcraft_projects import ROCKS, RockProject
from tests.workload.harness import READY_TIMEOUT_S, host_layer
from tests.workload.pebble_daemon import running_pebble
from tests.workload.server_runtime import ServerRuntime

pytestmark = pytest.mark.slow

LAUNCHER_ROCKS = [rock for rock in ROCKS if rock.launched_module]
# Per server module: writes a model that answers the runtime's upstream example.
TEST_MODELS: dict[str, Callable[[Path], Any]] = {"sklearnserver": train_iris_model}


def _runtime(module: str) -> Runtime:
    (runtime,) = [runtime for runtime in RUNTIMES.values() if runtime.server_module == module]
    return runtime


def _write_rock_layer(rock: RockProject, pebble_dir: Path, scratch: Path) -> None:
    """The layer rockcraft puts in the rock: summary, description and the rock's services."""
    raw = {
        "summary": rock.data["summary"],
        "description": rock.data["description"],
        "services": rock.services,
    }
    layer = pebble.Layer(cast("pebble.LayerDict", raw))
    layers = pebble_dir / "layers"
    layers.mkdir(parents=True)
    mapped = host_layer(layer, scratch, keep_user=True)
    (layers / f"001-{rock.name}.yaml").write_text(yaml.safe_dump(mapped))


def _model_name(rock: RockProject) -> str:
    """The `--model_name` the rock's service passes (kserve's default: "model")."""
    names = [word.partition("=")[2] for word in rock.service_command().argv]
    flags = [word.partition("=")[0] for word in rock.service_command().argv]
    return names[flags.index("--model_name")] if "--model_name" in flags else "model"


def _cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


@pytest.mark.parametrize("rock", LAUNCHER_ROCKS, ids=[rock.name for rock in LAUNCHER_ROCKS])
def test_the_rocks_entrypoint_service_serves_with_the_containers_arguments(
    rock: RockProject, pebble_bin: Path, server_runtime: ServerRuntime, tmp_path: Path
):
    module = str(rock.launched_module)
    if module not in TEST_MODELS:
        pytest.skip(f"no test model for {module} in this module yet")
    model_dir = server_runtime.directory("model")
    TEST_MODELS[module](model_dir)
    port = free_port()
    arguments = [f"--http_port={port}", f"--grpc_port={free_port()}", f"--model_dir={model_dir}"]
    pebble_dir = tmp_path / "pebble"
    _write_rock_layer(rock, pebble_dir, server_runtime.directory("scratch"))
    service = rock.entrypoint_service
    example = _runtime(module).examples[0]
    client = ServedModel.at(port, _model_name(rock), timeout=2)

    with running_pebble(
        pebble_bin, pebble_dir, server_runtime.environment(), "enter", [service, *arguments]
    ) as daemon:
        daemon.wait_until(client.model_ready, READY_TIMEOUT_S, f"{rock.name}'s model ready")
        argv = _cmdline(daemon.service_pid())
        answer = client.infer(example.protocol, json.dumps(example.request).encode())
        (info,) = daemon.client.get_services([service])

    assert argv == [*rock.service_command().fixed, *arguments]  # the defaults replaced
    assert json.loads(answer.body) == example.expected
    assert info.startup == pebble.ServiceStartup.ENABLED
    assert info.current == pebble.ServiceStatus.ACTIVE
