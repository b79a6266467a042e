"""bundle.yaml with the local overlay: every application settles, every model server answers.

Every unit of every model server runs `smoke-test`: KServe's example model
gives its documented answer, paddle's model describes itself, proteus's echo
model turns 3 into 4, and autogluon (no model by design) fails the action
saying why instead of raising.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from model_server_charm.actions import judged, matches_expected
from tests.integration import product
from tests.integration.cluster import run_action, units

if TYPE_CHECKING:
    from pytest_operator.plugin import OpsTest

pytestmark = pytest.mark.usefixtures("bundle")


@pytest.mark.parametrize("app", product.SERVING)
async def test_model_server_is_active_and_says_where_it_serves(ops_test: OpsTest, app: str):
    for unit in units(ops_test, app):
        assert unit.workload_status == "active", unit.workload_status_message
        assert f" ready on :{product.http_port(app)} " in unit.workload_status_message


@pytest.mark.parametrize("app", [product.PROMETHEUS, product.GRAFANA])
async def test_observability_is_active(ops_test: OpsTest, app: str):
    assert {unit.workload_status for unit in units(ops_test, app)} == {"active"}


@pytest.mark.parametrize(("app", "reason"), product.BLOCKED_BY_DESIGN.items())
async def test_a_server_without_a_model_is_blocked_saying_so(
    ops_test: OpsTest, app: str, reason: str
):
    for unit in units(ops_test, app):
        assert unit.workload_status == "blocked"
        assert reason in unit.workload_status_message


def _check_smoke_answer(app: str, results: dict[str, Any]) -> None:
    runtime = product.MODEL_SERVERS[app]
    answer = json.loads(results["response"])
    example = runtime.default_example
    if runtime.family == "amdinfer":
        assert answer["outputs"][0]["data"] == [4]
    elif example is None:
        assert results["result"].startswith("passed: the model is ready and describes itself")
    else:
        assert product.bundle_option(app, "model-uri") == example.model_uri
        assert results["result"] == "passed: the example model gave the documented answer"
        assert matches_expected(judged(answer, example.judge), example.expected)


@pytest.mark.parametrize("app", product.SERVING)
async def test_smoke_test_passes_on_every_unit(ops_test: OpsTest, app: str):
    for unit in units(ops_test, app):
        outcome = await run_action(ops_test, unit.name, "smoke-test")
        assert outcome.status == "completed", outcome.message
        _check_smoke_answer(app, outcome.results)


@pytest.mark.parametrize(("app", "reason"), product.BLOCKED_BY_DESIGN.items())
async def test_smoke_test_without_a_model_fails_saying_why(
    ops_test: OpsTest, app: str, reason: str
):
    for unit in units(ops_test, app):
        outcome = await run_action(ops_test, unit.name, "smoke-test")
        assert outcome.status == "failed"
        assert reason in outcome.message
