"""The real AMD Inference Server (the proteus-server rock) driven through the charm's actions.

The echo model the rock ships becomes a `models` entry: the charm writes it
into the model repository and loads it through the repository API. Then
list-models, predict (3 → 4), unload-model and load-model, and a request
that would crash the server (two inputs to a one-input model: amdinfer v0.4.0
aborts) is refused by the charm while the server keeps running.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from tests.integration import product
from tests.integration.cluster import juju_model, run_action, run_command, settle, units

if TYPE_CHECKING:
    from pytest_operator.plugin import OpsTest

pytestmark = pytest.mark.usefixtures("bundle", "echo_model")

APP = "proteus"
UNIT = f"{APP}/0"
ECHO_TENSOR = {"name": "echo", "datatype": "UINT32", "shape": [1]}
# The rock's echo repository entry (rocks/proteus-server/repository/echo).
ECHO_MODEL = {
    "name": "echo",
    "uri": "/usr/local/share/amdinfer/repository/echo/1/libecho.so",
    "platform": "amdinfer_cpp",
    "inputs": [ECHO_TENSOR],
    "outputs": [ECHO_TENSOR],
}
ECHO_INPUT = {**ECHO_TENSOR, "data": [3]}


# pytest-asyncio 0.21 (pytest-operator's) has no type annotations.
@pytest_asyncio.fixture(scope="module")  # pyright: ignore[reportUntypedFunctionDecorator]
async def echo_model(ops_test: OpsTest, bundle: None) -> AsyncIterator[None]:
    """The echo model in `models`, for this module; the option reset afterwards."""
    application = juju_model(ops_test).applications[APP]
    await application.set_config({"models": json.dumps([ECHO_MODEL])})
    await settle(ops_test, [APP], "active")
    yield
    await application.reset_config(["models"])
    await settle(ops_test, [APP], "active")


async def _served_models(ops_test: OpsTest) -> list[str]:
    outcome = await run_action(ops_test, UNIT, "list-models")
    assert outcome.status == "completed", outcome.message
    return json.loads(outcome.results["models"])["models"]


async def _predict_echo(ops_test: OpsTest) -> list[int]:
    payload = json.dumps({"inputs": [ECHO_INPUT]})
    outcome = await run_action(ops_test, UNIT, "predict", payload=payload, model="echo")
    assert outcome.status == "completed", outcome.message
    return json.loads(outcome.results["response"])["outputs"][0]["data"]


async def _server_service(ops_test: OpsTest) -> str:
    """The server's line of `pebble services`, with the time its state began (RFC 3339)."""
    output = await run_command(
        [
            *("juju", "ssh", "-m", str(ops_test.model_full_name), "--container", "server"),
            *(UNIT, "/charm/bin/pebble", "services", "--abs-time"),
        ]
    )
    service = product.MODEL_SERVERS[APP].service_name
    return next(line for line in output.splitlines() if line.startswith(f"{service} "))


async def test_the_status_names_the_model(ops_test: OpsTest):
    message = units(ops_test, APP)[0].workload_status_message
    assert message.startswith(f"models echo ready on :{product.http_port(APP)}")


async def test_list_models_and_predict_to_the_echo_model(ops_test: OpsTest):
    assert "echo" in await _served_models(ops_test)
    assert await _predict_echo(ops_test) == [4]


async def test_unload_model_then_load_model(ops_test: OpsTest):
    unloaded = await run_action(ops_test, UNIT, "unload-model", name="echo")
    served_after_unload = await _served_models(ops_test)
    loaded = await run_action(ops_test, UNIT, "load-model", name="echo")
    assert unloaded.status == "completed", unloaded.message
    assert "echo" not in served_after_unload
    assert loaded.status == "completed", loaded.message
    assert "echo" in await _served_models(ops_test)
    assert await _predict_echo(ops_test) == [4]


async def test_a_request_that_would_crash_the_server_is_refused(ops_test: OpsTest):
    before = await _server_service(ops_test)
    payload = json.dumps({"inputs": [ECHO_INPUT, ECHO_INPUT]})
    outcome = await run_action(ops_test, UNIT, "predict", payload=payload, model="echo")
    assert outcome.status == "failed"
    assert "not sent: the model takes 1 input(s)" in outcome.message
    assert await _predict_echo(ops_test) == [4]
    assert await _server_service(ops_test) == before
