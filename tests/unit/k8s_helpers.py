"""Helpers for the Kubernetes-side tests: a test-only hardware charm, states, CRD skips.

No shipped charm declares the gpu/fpga options yet (proteus and huggingface
come later), so the mechanism is exercised through a runtime that exists only
here: the sklearn entry with `hardware: [gpu, fpga]`, rendered into its own
charmcraft.yaml by the same renderer the real charms use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from ops import pebble, testing

from model_server_charm import layer
from model_server_charm.charm import ModelServerCharm
from model_server_charm.families import family_for
from model_server_charm.runtimes import RUNTIMES
from scripts.render_charms import charm_name, render
from tests.charms import charm_config
from tests.k8s_schemas import kserve_crd_problem
from tests.unit.conftest import MODEL_URI
from tests.unit.fake_kube import FakeKube

ACCEL = dataclasses.replace(
    RUNTIMES["sklearn"], name="accel", display_name="accelerated test", hardware=("gpu", "fpga")
)
ACCEL_APP = charm_name(ACCEL)
FPGA = "xilinx.com/fpga-xilinx_u250_gen3x16_xdma_shell_4_1-0"
NAMESPACE = "kserve"
REGISTRY_PATH = "ghcr.io/example/sklearnserver:0.20.0"


class AccelServerCharm(ModelServerCharm):
    """A model-server charm whose runtime offers gpu-count, fpga-count and fpga-resource."""

    runtime = ACCEL


def accel_context(tmp_path: Path) -> testing.Context[AccelServerCharm]:
    """A Scenario context for the test-only charm, from its rendered charmcraft.yaml."""
    (tmp_path / "charmcraft.yaml").write_text(render(ACCEL))
    # Scenario takes charmcraft.yaml's unified form: metadata, config and actions in one.
    project = yaml.safe_load((tmp_path / "charmcraft.yaml").read_text())
    return testing.Context(AccelServerCharm, meta=project, charm_root=tmp_path)


def require_kserve_crds() -> None:
    """Skip, with the reason, when KServe's CRDs cannot be had to validate against."""
    problem = kserve_crd_problem()
    if problem:
        pytest.skip(problem)


def image_resource(tmp_path: Path, registrypath: str = REGISTRY_PATH) -> testing.Resource:
    """The server-image resource as Juju hands it to the charm (registrypath + credentials)."""
    path = tmp_path / "server-image.yaml"
    path.write_text(
        yaml.safe_dump({"registrypath": registrypath, "username": "u", "password": "p"})
    )
    return testing.Resource(name="server-image", path=path)


def server_container() -> testing.Container:
    """A workload container whose server runs the default plan, checks up."""
    runtime = ACCEL
    server_layer = family_for(runtime).layer(charm_config(runtime, model_uri=MODEL_URI), {})
    return testing.Container(
        "server",
        can_connect=True,
        layers={runtime.service_name: pebble.Layer(server_layer)},
        service_statuses={runtime.service_name: pebble.ServiceStatus.ACTIVE},
        check_infos=frozenset(
            {
                testing.CheckInfo(
                    layer.READY_CHECK,
                    level=pebble.CheckLevel.READY,
                    status=pebble.CheckStatus.UP,
                ),
                testing.CheckInfo(
                    layer.ALIVE_CHECK,
                    level=pebble.CheckLevel.ALIVE,
                    startup=pebble.CheckStartup.DISABLED,
                    status=pebble.CheckStatus.UP,
                ),
            }
        ),
    )


def state(
    options: Mapping[str, str | int | float | bool] | None = None,
    *,
    leader: bool = True,
    containers: frozenset[testing.Container] | None = None,
    resources: frozenset[testing.Resource] = frozenset(),
    planned_units: int = 1,
    secrets: frozenset[testing.Secret] = frozenset(),
) -> testing.State:
    """A state in the `kserve` model with a model set and these options."""
    return testing.State(
        leader=leader,
        model=testing.Model(name=NAMESPACE),
        config={"model-uri": MODEL_URI, **(options or {})},
        secrets=secrets,
        containers=containers if containers is not None else {server_container()},
        resources=resources,
        planned_units=planned_units,
    )


def serving_serverless(
    tmp_path: Path, kube: FakeKube, relations: set[testing.RelationBase], url: str
) -> tuple[testing.Context[AccelServerCharm], testing.State]:
    """A leader in serverless mode with `relations`, whose InferenceService is Ready at `url`."""
    accel = accel_context(tmp_path)
    serverless = state(
        {"deployment-mode": "serverless"}, resources=frozenset({image_resource(tmp_path)})
    )
    serverless = dataclasses.replace(serverless, relations=relations)
    accel.run(accel.on.config_changed(), serverless)
    kube.isvc_status = {
        "url": url,
        "address": {"url": f"http://isvc.{NAMESPACE}.svc.cluster.local"},
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    return accel, serverless
