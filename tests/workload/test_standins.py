"""Every KServe Python runtime, started with KServe's own ClusterServingRuntime arguments.

Each runtime's server (the stand-in, or upstream's own with KSERVE_PYTHON_DIR)
runs on loopback with the args of `kserve-<server>.yaml` (KServe v0.20.0),
serving a model built on this machine where `--model_dir` points, and must
answer upstream's example requests as upstream's examples say. The heavy
frameworks carry a marker: each runs in its own tox environment.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.servers import (
    KSERVE_PYTHON_DIR_ENV,
    REPO_ROOT,
    STANDINS,
    Command,
    Endpoint,
    free_port,
    running,
    server_base_environment,
)
from tests.workload.standin_runtimes import RUNTIMES, Example, Runtime

pytestmark = pytest.mark.slow

# KServe's ClusterServingRuntime manifests: $KSERVE_RUNTIMES, else ../shared/kserve-runtimes.
KSERVE_RUNTIMES_ENV = "KSERVE_RUNTIMES"
SHARED_RUNTIMES = REPO_ROOT.parent / "shared" / "kserve-runtimes"
# Where KServe's storage initializer puts the model in the server's container.
KSERVE_MODEL_DIR = "/mnt/models"
REQUEST_TIMEOUT_S = 60
PORT_FLAGS = ("--http_port=", "--grpc_port=")
# predictiveserver imports the three servers whose models it serves.
PREDICTIVE_SERVERS = ("sklearnserver", "xgbserver", "lgbserver")


@dataclass(frozen=True)
class ServedRuntime:
    """A runtime's server running with its model ready."""

    runtime: Runtime
    endpoint: Endpoint

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST a JSON body and return the JSON answer; fail with the server's words if refused."""
        request = urllib.request.Request(
            self.endpoint.base_url + path.format(model=self.endpoint.model_name),
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            pytest.fail(f"{path} answered {error.code}: {error.read().decode(errors='replace')}")

    def metrics(self) -> str:
        with urllib.request.urlopen(
            self.endpoint.base_url + "/metrics", timeout=REQUEST_TIMEOUT_S
        ) as response:
            return response.read().decode()


def runtimes_dir() -> Path:
    configured = os.environ.get(KSERVE_RUNTIMES_ENV)
    directory = Path(configured) if configured else SHARED_RUNTIMES
    if not directory.is_dir():
        pytest.skip(
            f"no ClusterServingRuntime manifests in {directory} (set ${KSERVE_RUNTIMES_ENV})"
        )
    return directory


def upstream_container(server: str) -> dict[str, Any]:
    """The kserve-container of KServe's ClusterServingRuntime for `server`."""
    manifest = yaml.safe_load((runtimes_dir() / f"kserve-{server}.yaml").read_text())
    (container,) = [c for c in manifest["spec"]["containers"] if c["name"] == "kserve-container"]
    return container


def upstream_argv(runtime: Runtime, endpoint: Endpoint) -> list[str]:
    """The manifest's args with KServe's template fields filled in and the model mapped here."""
    fields = {
        "{{.Name}}": endpoint.model_name,
        "{{.Annotations.modelFormat}}": runtime.model_format,
    }
    argv: list[str] = []
    for arg in upstream_container(runtime.server)["args"]:
        if arg.startswith(PORT_FLAGS):
            continue
        for field, value in fields.items():
            arg = arg.replace(field, value)
        argv.append(arg.replace(KSERVE_MODEL_DIR, str(endpoint.model_dir)))
    extra = [arg.format(model_dir=endpoint.model_dir) for arg in runtime.extra_args]
    # Ports of this machine, never KServe's 8080/8081 (some manifests rely on those defaults).
    ports = [f"--http_port={endpoint.http_port}", f"--grpc_port={endpoint.grpc_port}"]
    return [*argv, *extra, *ports]


def server_path(server: str) -> list[str]:
    """Where the server's package is: upstream's checkout (KSERVE_PYTHON_DIR) or the stand-ins."""
    checkout = os.environ.get(KSERVE_PYTHON_DIR_ENV)
    if not checkout:
        return [str(STANDINS)]
    servers = (server, *PREDICTIVE_SERVERS) if server == "predictiveserver" else (server,)
    return [str(Path(checkout) / name) for name in servers]


def build_model(runtime: Runtime, model_dir: Path) -> None:
    module, function = runtime.build_model.split(":")
    builder: Callable[[Path], None] = getattr(importlib.import_module(module), function)
    builder(model_dir)


def runtime_param(runtime: Runtime, example: Example, id_suffix: str) -> Any:
    marks = [getattr(pytest.mark, runtime.marker)] if runtime.marker else []
    return pytest.param(runtime, example, id=runtime.name + id_suffix, marks=marks)


@pytest.fixture(scope="module")
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Generator[ServedRuntime]:
    runtime: Runtime = request.param
    model_dir = tmp_path_factory.mktemp(f"{runtime.name}-model")
    build_model(runtime, model_dir)
    endpoint = Endpoint(runtime.name, model_dir, free_port(), free_port())
    container = upstream_container(runtime.server)
    environment = {variable["name"]: variable["value"] for variable in container.get("env", [])}
    base_path = server_base_environment()["PYTHONPATH"]
    environment["PYTHONPATH"] = os.pathsep.join([*server_path(runtime.server), base_path])
    command = Command(
        f"upstream {runtime.server}",
        (sys.executable, "-m", runtime.server, *upstream_argv(runtime, endpoint)),
        environment,
    )
    log_path = tmp_path_factory.mktemp(f"{runtime.name}-log") / "server.log"
    with running(command, endpoint, log_path, runtime.ready_timeout_s):
        yield ServedRuntime(runtime, endpoint)


# One list for both tests: pytest orders module-scoped parameters by their index in the
# list, so both tests of a runtime run while its one server is up.
EXAMPLE_CASES = [
    runtime_param(runtime, example, id_suffix=f"-{example.name}")
    for runtime in RUNTIMES
    for example in runtime.examples
]


@pytest.mark.parametrize(("served", "example"), EXAMPLE_CASES, indirect=["served"], scope="module")
def test_upstream_example_gets_upstream_answer(served: ServedRuntime, example: Example):
    response = served.post(example.path, example.body)

    assert example.answer(response) == example.expected, response


@pytest.mark.parametrize(("served", "example"), EXAMPLE_CASES, indirect=["served"], scope="module")
def test_metrics_count_the_request_and_show_no_explainer(served: ServedRuntime, example: Example):
    served.post(example.path, example.body)

    metrics = served.metrics()

    label = f'model_name="{served.endpoint.model_name}"'
    if example.path.startswith(("/v1/", "/v2/")):
        assert re.search(rf"^request_predict_seconds_count\{{{label}\}} [1-9]", metrics, re.M), (
            metrics
        )
    assert not re.search(r"^request_explain_seconds_count", metrics, re.M), metrics
