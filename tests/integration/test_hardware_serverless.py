"""Hardware limits and serverless mode on a real Juju controller and Kubernetes cluster.

- `juju config` cpu/memory: the application's StatefulSet carries the limits,
  and loses them when the options are unset;
- `fpga-count` on every charm whose runtime declares FPGAs: a fake extended
  resource is advertised on a node (the documented way to add one by hand), so
  the pod really schedules with the device limit; asking for more devices than
  any node has is Blocked, and nothing is applied;
- `deployment-mode=serverless` where KServe is installed: an InferenceService
  serves the model, and switching back removes it.

Skips (with the reason) without a controller, without a kubeconfig for the
cluster, without a charm declaring fpga-count, or without KServe.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from lightkube import ApiError, Client, ConfigError
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.apps_v1 import StatefulSet
from lightkube.resources.core_v1 import Node
from lightkube.types import PatchType

from model_server_charm import serverless
from model_server_charm.runtimes import RUNTIMES, Runtime
from scripts.render_charms import charm_name
from tests.integration.conftest import charm_to_deploy, image_for

if TYPE_CHECKING:
    from pytest_operator.plugin import OpsTest

APP = "sklearn-limits"
RUNTIME = RUNTIMES["sklearn"]
FPGA_RUNTIMES = [runtime for runtime in RUNTIMES.values() if "fpga" in runtime.hardware]
# A made-up device: advertised on a node by the test, so no FPGA is needed.
FAKE_FPGA = "example.com/fpga-kserve-bundle-test"
DEPLOY_TIMEOUT_SECONDS = 30 * 60
SETTLE_TIMEOUT_SECONDS = 15 * 60


@pytest.fixture(scope="module")
def kube() -> Client:
    """A client for the cluster the controller runs on (KUBECONFIG or ~/.kube/config)."""
    try:
        return Client()
    except ConfigError as error:
        pytest.skip(f"no kubeconfig for the cluster behind the controller: {error}")


def _server_resources(kube: Client, app: str, namespace: str) -> dict[str, dict[str, str]]:
    statefulset = kube.get(StatefulSet, app, namespace=namespace)
    assert statefulset.spec is not None
    assert statefulset.spec.template.spec is not None
    server = next(c for c in statefulset.spec.template.spec.containers if c.name == "server")
    resources = server.resources
    if resources is None:
        return {}
    return {
        section: {k: str(v) for k, v in values.items()}
        for section, values in (("limits", resources.limits), ("requests", resources.requests))
        if values
    }


async def _settle(ops_test: OpsTest, app: str, status: str = "active") -> None:
    assert ops_test.model is not None
    await ops_test.model.wait_for_idle(
        apps=[app], status=status, timeout=SETTLE_TIMEOUT_SECONDS, raise_on_error=False
    )


@pytest.mark.abort_on_fail
async def test_deploy(ops_test: OpsTest):
    assert ops_test.model is not None
    await ops_test.model.deploy(
        str(await charm_to_deploy(ops_test, charm_name(RUNTIME))),
        application_name=APP,
        resources={"server-image": image_for(RUNTIME.server_module)},
        config={"model-uri": RUNTIME.examples[0].model_uri},
        trust=True,
    )
    await ops_test.model.wait_for_idle(apps=[APP], status="active", timeout=DEPLOY_TIMEOUT_SECONDS)


async def test_cpu_and_memory_reach_the_statefulset(ops_test: OpsTest, kube: Client):
    assert ops_test.model is not None
    assert ops_test.model_name is not None
    application = ops_test.model.applications[APP]
    await application.set_config({"cpu": "500m", "memory": "1Gi"})
    await _settle(ops_test, APP)
    assert _server_resources(kube, APP, ops_test.model_name) == {
        "limits": {"cpu": "500m", "memory": "1Gi"}
    }
    await application.reset_config(["cpu", "memory"])
    await _settle(ops_test, APP)
    assert _server_resources(kube, APP, ops_test.model_name) == {}


@pytest.fixture
def fake_fpga(kube: Client) -> Iterator[str]:
    """Advertise one fake FPGA on the first node, and take it back afterwards."""
    node = next(iter(kube.list(Node)))
    assert node.metadata is not None
    assert node.metadata.name is not None
    name = node.metadata.name
    patch: dict[str, Any] = {"status": {"capacity": {FAKE_FPGA: "1"}}}
    kube.patch(Node.Status, name, patch, patch_type=PatchType.MERGE)
    yield FAKE_FPGA
    kube.patch(
        Node.Status, name, {"status": {"capacity": {FAKE_FPGA: None}}}, patch_type=PatchType.MERGE
    )


@pytest.mark.parametrize(
    "runtime",
    [pytest.param(runtime, id=runtime.name) for runtime in FPGA_RUNTIMES]
    or [
        pytest.param(
            None,
            id="none",
            marks=pytest.mark.skip(reason="no charm here declares fpga-count yet (proteus will)"),
        )
    ],
)
async def test_fpga_count_reaches_the_statefulset(
    ops_test: OpsTest, kube: Client, fake_fpga: str, runtime: Runtime
):
    assert ops_test.model is not None
    assert ops_test.model_name is not None
    app = f"{runtime.name}-fpga"
    await ops_test.model.deploy(
        str(await charm_to_deploy(ops_test, charm_name(runtime))),
        application_name=app,
        resources={"server-image": image_for(runtime.server_module)},
        config={"model-uri": runtime.examples[0].model_uri},
        trust=True,
    )
    application = ops_test.model.applications[app]
    await application.set_config({"fpga-resource": fake_fpga, "fpga-count": "1"})
    await _settle(ops_test, app)
    assert _server_resources(kube, app, ops_test.model_name) == {
        "limits": {fake_fpga: "1"},
        "requests": {fake_fpga: "1"},
    }
    # More than any node offers: Blocked, and the StatefulSet keeps what it had.
    await application.set_config({"fpga-count": "2"})
    await _settle(ops_test, app, status="blocked")
    unit = application.units[0]
    assert unit.workload_status_message.startswith(f"no node offers 2 {fake_fpga}")
    assert _server_resources(kube, app, ops_test.model_name)["limits"] == {fake_fpga: "1"}
    await application.set_config({"fpga-count": "0"})
    await _settle(ops_test, app)
    assert _server_resources(kube, app, ops_test.model_name) == {}
    await ops_test.model.remove_application(app, block_until_done=True)


@pytest.fixture
def kserve(kube: Client) -> None:
    try:
        kube.get(CustomResourceDefinition, serverless.INFERENCE_SERVICE_CRD)
    except ApiError as error:
        if error.status.code == 404:
            pytest.skip("KServe is not installed in the cluster (no InferenceService CRD)")
        raise


@pytest.mark.usefixtures("kserve")
async def test_serverless_mode_and_back(ops_test: OpsTest, kube: Client):
    assert ops_test.model is not None
    assert ops_test.model_name is not None
    application = ops_test.model.applications[APP]
    name = serverless.inference_service_name(APP)
    await application.set_config({"deployment-mode": "serverless", "max-replicas": "2"})
    await _settle(ops_test, APP)
    unit = application.units[0]
    assert " ready at http" in unit.workload_status_message
    isvc = kube.get(serverless.InferenceService, name, namespace=ops_test.model_name)
    predictor = isvc["spec"]["predictor"]
    assert predictor["maxReplicas"] == 2
    assert predictor["containers"][0]["image"] == image_for(RUNTIME.server_module)
    await application.set_config({"deployment-mode": "sidecar"})
    await _settle(ops_test, APP)
    with pytest.raises(ApiError) as missing:
        kube.get(serverless.InferenceService, name, namespace=ops_test.model_name)
    assert missing.value.status.code == 404
    assert unit.workload_status_message.startswith("model ready on :8080")
