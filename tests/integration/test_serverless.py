"""The serverless overlay's switch, where KServe is installed: there and back, make-before-break.

sklearn and proteus (with a model in `models`) go serverless as
overlays/serverless.yaml sets them: the charm creates the InferenceService
(and a TrainedModel per proteus model), the unit's status gives its URL, and
`smoke-test` is answered by it while the unit's own server is stopped.
Switched back, the unit serves again before the charm deletes the KServe
objects. Skips without KServe's InferenceService CRD in the cluster.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from lightkube import ApiError, Client
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.apps_v1 import StatefulSet

from model_server_charm.serverless import (
    INFERENCE_SERVICE_CRD,
    InferenceService,
    inference_service_name,
)
from model_server_charm.trained_models import TrainedModel
from tests.integration import product
from tests.integration.cluster import (
    SETTLE_TIMEOUT_SECONDS,
    http_status,
    juju_model,
    poll,
    run_action,
    settle,
    unit_address,
    units,
)

if TYPE_CHECKING:
    from pytest_operator.plugin import OpsTest

pytestmark = pytest.mark.usefixtures("bundle", "kserve")

SKLEARN = "sklearn"
PROTEUS = "proteus"
# How overlays/serverless.yaml sets every model server.
SERVERLESS = {
    option: str(value)
    for option, value in yaml.safe_load(
        (product.ROOT / "overlays" / "serverless.yaml").read_text()
    )["applications"][SKLEARN]["options"].items()
}
# A repository model for KServe's model agent to fetch. The test checks the
# TrainedModel the charm owns, not what the agent makes of the object.
REMOTE_MODEL_NAME = "remote"
REMOTE_MODEL = {
    "name": REMOTE_MODEL_NAME,
    "uri": "gs://kfserving-examples/models/sklearn/1.0/model/model.joblib",
    "platform": "amdinfer_cpp",
    "inputs": [{"name": "input", "datatype": "FP32", "shape": [4]}],
    "outputs": [{"name": "output", "datatype": "INT64", "shape": [1]}],
}


@pytest.fixture(scope="module")
def kserve(kube: Client) -> None:
    try:
        kube.get(CustomResourceDefinition, INFERENCE_SERVICE_CRD)
    except ApiError as error:
        if error.status.code == 404:
            pytest.skip("KServe is not installed in the cluster (no InferenceService CRD)")
        raise


async def _find(kube: Client, kind: Any, name: str, namespace: str) -> Any:
    """The object, or None when it does not exist."""
    try:
        return kube.get(kind, name, namespace=namespace)
    except ApiError as error:
        if error.status.code == 404:
            return None
        raise


def _server_image(kube: Client, app: str, namespace: str) -> str:
    statefulset = kube.get(StatefulSet, app, namespace=namespace)
    assert statefulset.spec is not None
    assert statefulset.spec.template.spec is not None
    containers = statefulset.spec.template.spec.containers
    return str(next(c.image for c in containers if c.name == "server"))


async def _local_server_answers(ops_test: OpsTest, app: str) -> bool:
    """Whether the unit's own server answers (its model or its health) on its pod address."""
    address = await unit_address(ops_test, f"{app}/0")
    path = "/v2/models/model/ready" if app == SKLEARN else "/v2/health/ready"
    return await http_status(f"http://{address}:{product.http_port(app)}{path}") == 200


async def test_sklearn_goes_serverless(ops_test: OpsTest, kube: Client):
    namespace = str(ops_test.model_name)
    await juju_model(ops_test).applications[SKLEARN].set_config(SERVERLESS)
    await settle(ops_test, [SKLEARN], "active")
    assert " ready at http" in units(ops_test, SKLEARN)[0].workload_status_message
    isvc = kube.get(InferenceService, inference_service_name(SKLEARN), namespace=namespace)
    predictor = isvc["spec"]["predictor"]
    assert predictor["maxReplicas"] == int(SERVERLESS["max-replicas"])
    assert predictor["containers"][0]["image"] == _server_image(kube, SKLEARN, namespace)


async def test_sklearn_smoke_test_is_answered_by_the_inference_service(ops_test: OpsTest):
    assert not await _local_server_answers(ops_test, SKLEARN)
    outcome = await run_action(ops_test, f"{SKLEARN}/0", "smoke-test")
    assert outcome.status == "completed", outcome.message
    assert json.loads(outcome.results["response"]) == {"predictions": [1, 1]}


async def test_sklearn_comes_back_serving_before_the_inference_service_goes(
    ops_test: OpsTest, kube: Client
):
    namespace = str(ops_test.model_name)
    name = inference_service_name(SKLEARN)
    await juju_model(ops_test).applications[SKLEARN].reset_config(list(SERVERLESS))
    # Watched closely: the moment the InferenceService is gone, the unit must serve.
    isvc = await poll(
        lambda: _find(kube, InferenceService, name, namespace),
        lambda found: found is None,
        SETTLE_TIMEOUT_SECONDS,
        interval=0.5,
    )
    assert isvc is None
    assert await _local_server_answers(ops_test, SKLEARN)
    await settle(ops_test, [SKLEARN], "active")
    assert " ready on :8080 " in units(ops_test, SKLEARN)[0].workload_status_message


async def test_proteus_goes_serverless_with_a_trained_model(ops_test: OpsTest, kube: Client):
    namespace = str(ops_test.model_name)
    application = juju_model(ops_test).applications[PROTEUS]
    await application.set_config({**SERVERLESS, "models": json.dumps([REMOTE_MODEL])})
    await settle(ops_test, [PROTEUS], "active")
    assert " ready at http" in units(ops_test, PROTEUS)[0].workload_status_message
    isvc = kube.get(InferenceService, inference_service_name(PROTEUS), namespace=namespace)
    (server,) = isvc["spec"]["predictor"]["containers"]
    environment = {variable["name"]: variable.get("value") for variable in server["env"]}
    assert environment["MULTI_MODEL_SERVER"] == "true"
    trained = kube.get(TrainedModel, REMOTE_MODEL_NAME, namespace=namespace)
    assert trained["spec"]["inferenceService"] == inference_service_name(PROTEUS)
    assert trained["spec"]["model"]["storageUri"] == REMOTE_MODEL["uri"]


async def test_proteus_smoke_test_is_answered_by_the_inference_service(ops_test: OpsTest):
    assert not await _local_server_answers(ops_test, PROTEUS)
    outcome = await run_action(ops_test, f"{PROTEUS}/0", "smoke-test")
    assert outcome.status == "completed", outcome.message
    assert json.loads(outcome.results["response"])["outputs"][0]["data"] == [4]


async def test_proteus_comes_back_and_its_kserve_objects_go(ops_test: OpsTest, kube: Client):
    namespace = str(ops_test.model_name)
    # The model goes with the switch: the sidecar server would load the fetched file itself.
    await juju_model(ops_test).applications[PROTEUS].reset_config([*SERVERLESS, "models"])
    await settle(ops_test, [PROTEUS], "active")
    assert await _local_server_answers(ops_test, PROTEUS)
    assert await _find(kube, InferenceService, inference_service_name(PROTEUS), namespace) is None
    assert await _find(kube, TrainedModel, REMOTE_MODEL_NAME, namespace) is None
