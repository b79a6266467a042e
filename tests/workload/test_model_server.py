"""A real server, started from the charm's own Pebble plan, answers the charm's own code.

Per charm: the plan comes from running the charm in Scenario; the server is the
stand-in runtime (or the real upstream one with KSERVE_PYTHON_DIR); the
readiness and liveness URLs are the plan's checks; `predict` and `smoke-test`
are the charm's action code; /metrics must count every request across workers.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from ops import testing

from bench.models.iris import train_iris_model
from bench.servers import free_port
from model_server_charm import actions, k8s_resources, layer
from model_server_charm.config import CharmConfig
from model_server_charm.families import family_for
from model_server_charm.families.kserve_python import SERVER_ERROR_FILE
from model_server_charm.layer import WORKLOAD_CONTAINER
from model_server_charm.runtimes import Protocol
from tests.charm_plan import UntrustedClient
from tests.charms import ThinCharm
from tests.workload.harness import RunningCharmServer, running_server

pytestmark = pytest.mark.slow

# Rows of the upstream example: iris versicolor, class 1.
EXAMPLE_ROWS = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]
SETOSA_ROW = [5.1, 3.5, 1.4, 0.2]
REQUESTS = 40


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("model")
    train_iris_model(directory)
    return directory


@pytest.fixture(scope="module")
def server(
    charm: ThinCharm, model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Generator[RunningCharmServer]:
    """The charm's default plan: two workers, quiet logs."""
    with running_server(charm, {}, model_dir, tmp_path_factory.mktemp("server")) as running:
        yield running


def _config(charm: ThinCharm, server: RunningCharmServer, **options: Any) -> CharmConfig:
    values = {"http_port": server.port, "model_uri": "/srv/other-model", **options}
    return family_for(charm.charm_type.runtime).config_from(values)


def _predict(
    charm: ThinCharm, server: RunningCharmServer, payload: Any, protocol: Protocol
) -> Any:
    params = actions.PredictParams(charm.charm_type.runtime, json.dumps(payload), protocol)
    family = family_for(charm.charm_type.runtime)
    return actions.predict(server.client, family, _config(charm, server), params)


def test_the_plans_checks_pass_on_the_running_server(server: RunningCharmServer):
    assert server.check_url(layer.READY_CHECK).endswith("/v2/models/model/ready")
    assert server.check_passes(layer.READY_CHECK)
    assert server.check_passes(layer.ALIVE_CHECK)


def test_the_server_runs_the_plans_worker_count(server: RunningCharmServer):
    assert "--workers=2" in server.plan.service.command


def test_predict_v1_with_the_charms_action_code(charm: ThinCharm, server: RunningCharmServer):
    results = _predict(charm, server, {"instances": [*EXAMPLE_ROWS, SETOSA_ROW]}, "v1")
    assert results["status-code"] == 200
    assert json.loads(results["response"]) == {"predictions": [1, 1, 0]}


def test_predict_v2_with_the_charms_action_code(charm: ThinCharm, server: RunningCharmServer):
    body = {
        "inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP32", "data": EXAMPLE_ROWS}]
    }
    answer = json.loads(_predict(charm, server, body, "v2")["response"])
    assert answer["model_name"] == "model"
    (output,) = answer["outputs"]
    assert output["datatype"] == "INT64"
    assert output["data"] == [1, 1]


def test_predict_reports_the_servers_own_error(charm: ThinCharm, server: RunningCharmServer):
    with pytest.raises(actions.ActionFailedError, match=r"the model server answered [45]\d\d: "):
        _predict(charm, server, {"instances": [[1.0, 2.0]]}, "v1")


def test_smoke_test_compares_the_documented_answer(charm: ThinCharm, server: RunningCharmServer):
    """Served as if it were the upstream example model, the answer is compared exactly."""
    example_uri = charm.charm_type.runtime.examples[0].model_uri
    family = family_for(charm.charm_type.runtime)
    config = _config(charm, server, model_uri=example_uri)
    results = actions.smoke_test(server.client, family, config)
    assert results["result"].startswith("passed: the example model gave the documented answer")
    assert json.loads(results["response"]) == charm.charm_type.runtime.examples[0].expected


def test_smoke_test_checks_shape_for_another_model(charm: ThinCharm, server: RunningCharmServer):
    family = family_for(charm.charm_type.runtime)
    results = actions.smoke_test(server.client, family, _config(charm, server))
    assert results["result"].startswith("passed: well-formed answer")
    assert results["latency-ms"] > 0


def _predict_count(server: RunningCharmServer) -> float:
    with urllib.request.urlopen(f"{server.base_url}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    pattern = re.compile(r'^request_predict_seconds_count\{model_name="model"\} (\S+)$', re.M)
    return sum(float(value) for value in pattern.findall(text))


def test_metrics_count_every_request_across_workers(charm: ThinCharm, server: RunningCharmServer):
    before = _predict_count(server)
    for _ in range(REQUESTS):
        _predict(charm, server, {"instances": [SETOSA_ROW]}, "v1")
    # Several scrapes: whichever worker answers, the count is the whole server's.
    counts = {_predict_count(server) - before for _ in range(6)}
    assert counts == {REQUESTS}


def test_request_logging_plan_also_serves(charm: ThinCharm, model_dir: Path, tmp_path: Path):
    with running_server(
        charm, {"log-requests": True, "workers": 1}, model_dir, tmp_path
    ) as logged:
        assert "--enable_latency_logging" not in logged.plan.service.command
        assert logged.client.model_ready()
    log = (tmp_path / "server.log").read_text()
    assert "uvicorn" in log or "kserve" in log


def test_a_model_that_fails_to_load_shows_its_reason_in_the_status(
    charm: ThinCharm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The launcher records why the server exited; the charm's status says it."""
    broken = tmp_path / "broken-model"
    train_iris_model(broken)
    (broken / "model.joblib").rename(broken / "first.joblib")
    train_iris_model(broken)  # two model files: the server refuses to guess
    scratch = tmp_path / "scratch"
    with (
        pytest.raises(RuntimeError, match="exited with status"),
        running_server(charm, {}, broken, scratch),
    ):
        pass
    error_file = scratch / Path(SERVER_ERROR_FILE).name
    reason = error_file.read_text().strip()
    assert "more than one model file" in reason

    # The charm plans the server (a new plan clears any earlier reason), the
    # server fails again and the launcher records why: the status says it.
    ctx = testing.Context(charm.charm_type)
    tmp_mount = testing.Mount(location="/tmp", source=scratch)
    config = {"model-uri": str(broken), "http-port": free_port()}
    container = testing.Container(WORKLOAD_CONTAINER, can_connect=True, mounts={"tmp": tmp_mount})
    # No cluster here: the charm sees the API as an untrusted application does.
    monkeypatch.setattr(k8s_resources, "kube_client", UntrustedClient)
    planned = ctx.run(
        ctx.on.config_changed(), testing.State(config=config, containers={container})
    )
    assert not error_file.exists()
    error_file.write_text(reason + "\n")
    out = ctx.run(ctx.on.update_status(), planned)
    assert out.unit_status.name == "waiting"
    # The status carries the launcher's reason (shortened to a status line).
    assert out.unit_status.message.startswith(
        "model failed to load (Pebble retries): sklearnserver failed: RuntimeError:"
        " more than one model file in "
    )
    assert reason.startswith(
        out.unit_status.message.removeprefix("model failed to load (Pebble retries): ").rstrip("…")
    )
