"""The scikit-learn charm on a real Juju controller and Kubernetes cluster.

Deploys the packed charm with its rock, serving KServe's upstream example
model, and checks what an operator sees: Active once the model serves, the
actions' answers, and Blocked naming every bad option until it is fixed.
Every test skips when no Juju controller is reachable (development machines):
see the `juju_controller` fixture in conftest.py.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from model_server_charm.runtimes import RUNTIMES
from tests.integration.conftest import charm_to_deploy, image_for

if TYPE_CHECKING:
    from pytest_operator.plugin import OpsTest

APP = "sklearn"
CHARM = "sklearn-server"
RUNTIME = RUNTIMES["sklearn"]
# Downloading the model from Google Cloud Storage and starting two workers.
DEPLOY_TIMEOUT_SECONDS = 30 * 60
STATUS_TIMEOUT_SECONDS = 10 * 60
# The v2 form of the upstream example (DESIGN.md §3): same rows, same answer.
V2_REQUEST = {
    "inputs": [
        {
            "name": "input-0",
            "shape": [2, 4],
            "datatype": "FP32",
            "data": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]],
        }
    ]
}


async def _run_action(ops_test: OpsTest, name: str, **params: str) -> Any:
    """Run an action on the unit and return the finished action (completed or failed)."""
    assert ops_test.model is not None
    unit = ops_test.model.applications[APP].units[0]
    action = await unit.run_action(name, **params)
    return await action.wait()


async def _completed_results(ops_test: OpsTest, name: str, **params: str) -> dict[str, Any]:
    action = await _run_action(ops_test, name, **params)
    assert action.status == "completed", f"{name} {action.status}: {action.results}"
    return action.results


@pytest.mark.abort_on_fail
async def test_deploy_serves_the_example_model(ops_test: OpsTest):
    assert ops_test.model is not None
    charm = await charm_to_deploy(ops_test, CHARM)
    await ops_test.model.deploy(
        str(charm),
        application_name=APP,
        resources={"server-image": image_for(RUNTIME.server_module)},
        config={"model-uri": RUNTIME.examples[0].model_uri},
        trust=True,
    )
    await ops_test.model.wait_for_idle(apps=[APP], status="active", timeout=DEPLOY_TIMEOUT_SECONDS)
    unit = ops_test.model.applications[APP].units[0]
    assert "ready" in unit.workload_status_message


async def test_smoke_test_gets_the_documented_answer(ops_test: OpsTest):
    results = await _completed_results(ops_test, "smoke-test")
    assert results["result"].startswith("passed: the example model")
    assert json.loads(results["response"]) == RUNTIME.examples[0].expected


async def test_predict_v1(ops_test: OpsTest):
    results = await _completed_results(
        ops_test, "predict", payload=RUNTIME.examples[0].request_json, protocol="v1"
    )
    assert results["status-code"] == "200"
    assert json.loads(results["response"]) == {"predictions": [1, 1]}


async def test_predict_v2(ops_test: OpsTest):
    results = await _completed_results(
        ops_test, "predict", payload=json.dumps(V2_REQUEST), protocol="v2"
    )
    (output,) = json.loads(results["response"])["outputs"]
    assert output["data"] == [1, 1]
    assert output["datatype"] == "INT64"


async def test_predict_rejects_a_payload_that_is_not_json(ops_test: OpsTest):
    action = await _run_action(ops_test, "predict", payload="{not json")
    assert action.status == "failed"


async def test_bad_config_blocks_naming_every_problem_until_fixed(ops_test: OpsTest):
    assert ops_test.model is not None
    application = ops_test.model.applications[APP]
    await application.set_config({"workers": "0", "model-name": "Bad Name!"})
    await ops_test.model.wait_for_idle(
        apps=[APP], status="blocked", timeout=STATUS_TIMEOUT_SECONDS
    )
    message = application.units[0].workload_status_message
    assert "workers=0" in message
    assert "model-name='Bad Name!'" in message

    await application.reset_config(["workers", "model-name"])
    await ops_test.model.wait_for_idle(apps=[APP], status="active", timeout=STATUS_TIMEOUT_SECONDS)
    results = await _completed_results(ops_test, "smoke-test")
    assert results["result"].startswith("passed")
