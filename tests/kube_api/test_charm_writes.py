"""The charm's hooks (Scenario) write through the real lightkube client to the real API server.

Each test runs as the `trusted` identity (a real ServiceAccount token bound to
cluster-admin) and asserts what the API server stored; `sent` is every request
the charm's client made.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ops import testing

from model_server_charm.serverless import InferenceService
from model_server_charm.trained_models import TrainedModel
from tests.charms import PROTEUS, REPRESENTATIVE
from tests.kube_api.cluster_setup import ClusterSetup, writes
from tests.unit.conftest import container
from tests.unit.fake_server import serve_fake
from tests.unit.k8s_helpers import (
    ACCEL_APP,
    FPGA,
    NAMESPACE,
    accel_context,
    image_resource,
    state,
)

GPU = "nvidia.com/gpu"
ISVC = f"{ACCEL_APP}-isvc"


@pytest.fixture
def accel(tmp_path: Path, trusted: ClusterSetup) -> testing.Context[Any]:
    trusted.juju_application(ACCEL_APP)
    trusted.node("fpga-node", {FPGA: "2", GPU: "4", "cpu": "4", "memory": "16Gi"})
    return accel_context(tmp_path)


def serverless(tmp_path: Path, **options: Any) -> testing.State:
    return state(
        {"deployment-mode": "serverless", **options},
        resources=frozenset({image_resource(tmp_path)}),
    )


def proteus_serverless(tmp_path: Path, models: list[dict[str, Any]]) -> testing.State:
    return testing.State(
        leader=True,
        model=testing.Model(name=NAMESPACE),
        config={"deployment-mode": "serverless", "models": json.dumps(models)},
        resources={image_resource(tmp_path)},
        containers={testing.Container("server", can_connect=True)},
    )


def test_limits_are_stored_and_an_unchanged_config_sends_nothing(
    trusted: ClusterSetup, sent: list[tuple[str, str]]
):
    app = REPRESENTATIVE.name
    trusted.juju_application(app)
    ctx: testing.Context[Any] = testing.Context(REPRESENTATIVE.charm_type)
    options = {"cpu": "0.5", "memory": "1024Mi"}
    ctx.run(ctx.on.config_changed(), state(options, containers=frozenset({container()})))
    assert trusted.server_resources(app) == {"limits": {"cpu": "500m", "memory": "1Gi"}}
    version = trusted.statefulset(app)["metadata"]["resourceVersion"]
    sent.clear()
    ctx.run(ctx.on.config_changed(), state(options, containers=frozenset({container()})))
    assert writes(sent) == []
    assert trusted.statefulset(app)["metadata"]["resourceVersion"] == version


@pytest.mark.parametrize(
    ("option", "value", "refusal"),
    [
        ("memory", "8Ei", "memory='8Ei': more than 9223372036854775 bytes"),
        ("memory", "0.5", "memory='0.5': not a whole number of bytes"),
        ("cpu", "0.0001", "cpu='0.0001': finer than 1m"),
        ("max-replicas", 2**31, "max-replicas=2147483648: must be at most 2147483647"),
    ],
)
def test_values_the_server_would_change_send_nothing(
    trusted: ClusterSetup, sent: list[tuple[str, str]], option: str, value: Any, refusal: str
):
    ctx: testing.Context[Any] = testing.Context(REPRESENTATIVE.charm_type)
    options = state({option: value}, containers=frozenset({container()}))
    out = ctx.run(ctx.on.config_changed(), options)
    assert out.unit_status.name == "blocked"
    assert refusal in out.unit_status.message
    assert sent == []


def test_device_counts_are_integer_limits_equal_to_requests(
    accel: testing.Context[Any], trusted: ClusterSetup
):
    devices = {"fpga-count": 1, "fpga-resource": FPGA, "gpu-count": 2}
    accel.run(accel.on.config_changed(), state(devices))
    expected = {FPGA: "1", GPU: "2"}
    assert trusted.server_resources(ACCEL_APP) == {"limits": expected, "requests": expected}
    accel.run(accel.on.config_changed(), state({"fpga-resource": FPGA, "gpu-count": 0}))
    assert trusted.server_resources(ACCEL_APP) == {}


def test_serverless_inference_service_is_stored_owned_by_the_statefulset(
    accel: testing.Context[Any], trusted: ClusterSetup, tmp_path: Path
):
    options = {"cpu": "2", "fpga-count": 1, "fpga-resource": FPGA, "max-replicas": 3}
    out = accel.run(accel.on.config_changed(), serverless(tmp_path, **options))
    stored = trusted.objects(InferenceService)[ISVC]
    [owner] = stored["metadata"]["ownerReferences"]
    assert owner["uid"] == trusted.statefulset(ACCEL_APP)["metadata"]["uid"]
    predictor = stored["spec"]["predictor"]
    assert predictor["maxReplicas"] == 3
    assert predictor["containers"][0]["resources"] == {
        "limits": {"cpu": "2", FPGA: "1"},
        "requests": {FPGA: "1"},
    }
    # The devices moved to the predictor: the StatefulSet holds none of the charm's.
    assert trusted.server_resources(ACCEL_APP) == {}
    assert out.unit_status == testing.WaitingStatus(
        f"InferenceService {ISVC} not ready: no Ready condition yet"
    )


def test_back_to_sidecar_deletes_the_inference_service_once_the_unit_serves(
    accel: testing.Context[Any], trusted: ClusterSetup, tmp_path: Path
):
    out = accel.run(accel.on.config_changed(), serverless(tmp_path))
    back = accel.run(
        accel.on.config_changed(), state(containers=frozenset({out.get_container("server")}))
    )
    assert ISVC in trusted.objects(InferenceService)
    with serve_fake() as fake:
        server = back.get_container("server")
        accel.run(
            accel.on.update_status(),
            state({"http-port": fake.port}, containers=frozenset({server})),
        )
    assert trusted.objects(InferenceService) == {}


def test_removal_deletes_the_inference_service(
    accel: testing.Context[Any], trusted: ClusterSetup, tmp_path: Path
):
    accel.run(accel.on.config_changed(), serverless(tmp_path))
    gone = state({"deployment-mode": "serverless"}, planned_units=0)
    accel.run(accel.on.remove(), gone)
    assert trusted.objects(InferenceService) == {}


def _repository_model(name: str) -> dict[str, Any]:
    tensor = {"name": "x", "datatype": "UINT32", "shape": [1]}
    uri = f"gs://models/{name}.tar.gz"
    io = {"inputs": [tensor], "outputs": [tensor]}
    return {"name": name, "uri": uri, "platform": "amdinfer_cpp", **io}


def test_trained_models_follow_the_models_option(trusted: ClusterSetup, tmp_path: Path):
    trusted.juju_application(PROTEUS.name)
    ctx: testing.Context[Any] = testing.Context(PROTEUS.charm_type)
    two = [_repository_model("resnet50"), _repository_model("yolov3")]
    ctx.run(ctx.on.config_changed(), proteus_serverless(tmp_path, two))
    stored = trusted.objects(TrainedModel)
    assert sorted(stored) == ["resnet50", "yolov3"]
    assert stored["resnet50"]["spec"]["inferenceService"] == f"{PROTEUS.name}-isvc"
    ctx.run(ctx.on.config_changed(), proteus_serverless(tmp_path, [_repository_model("yolov3")]))
    assert sorted(trusted.objects(TrainedModel)) == ["yolov3"]
