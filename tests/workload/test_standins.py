"""Every KServe Python runtime, started with KServe's own ClusterServingRuntime arguments.

Each case's server (the stand-in, or upstream's own with KSERVE_PYTHON_DIR:
`bench.servers.server_base_environment`)
runs on loopback as `python -m <server>` with the args and env of
`kserve-<server>.yaml` (KServe v0.20.0, `tests.workload.kserve_runtime`),
serving a model built on this machine, and must answer upstream's example
requests as upstream's examples say. The heavy frameworks carry a marker:
each runs in its own tox environment.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import pytest

from bench.servers import Command, Endpoint, free_port, running
from model_server_charm.server_client import ModelServerClient
from tests.workload.charm_cases import CASES, CharmCase, Example
from tests.workload.kserve_runtime import runtime_container

pytestmark = pytest.mark.slow

REQUEST_TIMEOUT_S = 60


@dataclass(frozen=True)
class ServedRuntime:
    """A case's server running with its model ready."""

    case: CharmCase
    endpoint: Endpoint

    def post(self, example: Example) -> Any:
        """Send the example where the charm would; the JSON answer, or fail with the server's."""
        config = self.case.config(
            str(self.endpoint.model_dir), model_name=self.endpoint.model_name
        )
        client = ModelServerClient(self.endpoint.base_url, timeout=REQUEST_TIMEOUT_S)
        answer = self.case.family.infer(client, config, example.protocol, example.body, "")
        if not answer.ok:
            pytest.fail(f"{example.name} answered {answer.status}: {answer.body}")
        return json.loads(answer.body)

    def metrics(self) -> str:
        with urllib.request.urlopen(
            self.endpoint.base_url + "/metrics", timeout=REQUEST_TIMEOUT_S
        ) as response:
            return response.read().decode()


@pytest.fixture(scope="module")
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Generator[ServedRuntime]:
    case: CharmCase = request.param
    model_dir = tmp_path_factory.mktemp(f"{case.name}-model")
    case.build(model_dir)
    endpoint = Endpoint(case.name, model_dir, free_port(), free_port())
    container = runtime_container(
        case, case.name, model_dir, endpoint.http_port, endpoint.grpc_port
    )
    args = list(container.args)
    if not any(arg.startswith("--model_dir=") for arg in args):
        # The manifest relies on the server's default, where KServe puts the model.
        args.append(f"--model_dir={model_dir}")
    server = case.runtime.server_module
    argv = (sys.executable, "-m", server, *args)
    command = Command(f"upstream {server}", argv, container.environment)
    log_path = tmp_path_factory.mktemp(f"{case.name}-log") / "server.log"
    with running(command, endpoint, log_path, case.ready_timeout_s):
        yield ServedRuntime(case, endpoint)


# One list for both tests: pytest orders module-scoped parameters by their index in the
# list, so both tests of a case run while its one server is up.
EXAMPLE_CASES = [
    pytest.param(case, example, id=f"{case.name}-{example.name}", marks=case.marks)
    for case in CASES
    for example in case.examples
]


@pytest.mark.parametrize(("served", "example"), EXAMPLE_CASES, indirect=["served"], scope="module")
def test_upstream_example_gets_upstream_answer(served: ServedRuntime, example: Example):
    response = served.post(example)

    assert example.answer(response) == example.expected_with_kserve_args, response


@pytest.mark.parametrize(("served", "example"), EXAMPLE_CASES, indirect=["served"], scope="module")
def test_metrics_count_the_request_and_show_no_explainer(served: ServedRuntime, example: Example):
    served.post(example)

    metrics = served.metrics()

    label = f'model_name="{served.endpoint.model_name}"'
    if example.protocol != "openai":
        assert re.search(rf"^request_predict_seconds_count\{{{label}\}} [1-9]", metrics, re.M), (
            metrics
        )
    assert not re.search(r"^request_explain_seconds_count", metrics, re.M), metrics
