"""A model directory with no model file, served by the charm's layer on the real Pebble.

Upstream's sklearn, xgb, lgb and predictive servers then start with an empty
model repository (multi-model serving: KServe's TrainedModels load models
later), stay alive and answer the model's readiness 404, writing no error; the
others exit (autogluonserver falls back to its repository only when
`--model_dir` is not a directory at all: an empty directory fails its
predictor detection, an InferenceError). The stand-ins do the same (or run
upstream's own with KSERVE_PYTHON_DIR), and the charm must tell a server
without the model from one still loading.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path

import pytest
from ops import pebble

from model_server_charm import k8s_resources
from model_server_charm.families.kserve_python.family import SERVER_ERROR_FILE
from model_server_charm.layer import READY_CHECK
from model_server_charm.server_client import ModelServerClient
from tests.charm_plan import UntrustedClient
from tests.workload.charm_cases import CharmCase
from tests.workload.harness import CharmOnPebble, charm_on_pebble, charm_options
from tests.workload.server_runtime import ServerRuntime

pytestmark = pytest.mark.slow

# Upstream v0.20.0's servers that serve an empty repository for an empty model directory.
EMPTY_REPOSITORY_SERVERS = frozenset(
    {"sklearnserver", "xgbserver", "lgbserver", "predictiveserver"}
)
SETTLE_TIMEOUT_S = 180.0


def _empty_directory(model_dir: Path) -> None:
    """No model file (the server's directory exists, as a download of nothing leaves it)."""


@pytest.fixture(scope="module")
def served_empty(
    pebble_bin: Path,
    server_runtime: ServerRuntime,
    case: CharmCase,
    tmp_path_factory: pytest.TempPathFactory,
) -> Generator[CharmOnPebble]:
    """The charm's layer serving an empty model directory, once the server has settled."""
    model_dir = server_runtime.model_directory(f"{case.name}-empty", _empty_directory)
    options = charm_options(model_dir, **{**case.options, "workers": 1})
    pebble_dir = tmp_path_factory.mktemp("pebble") / "state"
    with charm_on_pebble(pebble_bin, server_runtime, case.charm, options, pebble_dir) as running:
        client = ModelServerClient.on_port(int(options["http-port"]), "127.0.0.1", timeout=2)
        running.daemon.wait_until(
            lambda: client.answers("/v2/health/live") or running.start_count() >= 2,
            case.ready_timeout_s + SETTLE_TIMEOUT_S,
            "the server answering, or Pebble restarting it",
        )
        yield running


def test_the_server_runs_without_the_model_or_exits_as_upstream(
    case: CharmCase, served_empty: CharmOnPebble
):
    client = served_empty.client
    error_file = served_empty.scratch / Path(SERVER_ERROR_FILE).name

    if case.runtime.server_module in EMPTY_REPOSITORY_SERVERS:
        assert client.get("/v2/health/live").status == 200
        ready = client.get("/v2/models/model/ready")
        assert ready.status == 404
        assert json.loads(ready.body) == {"error": "Model with name model does not exist."}
        assert served_empty.start_count() == 1
        assert not error_file.exists()
    else:
        assert served_empty.start_count() >= 2
        assert error_file.read_text().strip()


def test_the_status_says_the_directory_has_no_model_file(
    case: CharmCase, served_empty: CharmOnPebble, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(k8s_resources, "kube_client", UntrustedClient)  # no cluster here

    status = served_empty.unit_status()

    if case.runtime.server_module in EMPTY_REPOSITORY_SERVERS:
        assert status.name == "blocked"
        assert "holds no model file the server loads" in status.message
        assert ", ".join(case.runtime.model_formats) in status.message
    else:
        assert status.name == "waiting"
        assert status.message.startswith("model failed to load (Pebble retries): ")


def test_a_server_without_its_model_is_out_of_rotation(served_empty: CharmOnPebble):
    """The charm's first plan carries the loading ready check: down after one failure.

    The ordinary check (every 10 s, down after 3 failures) would still count as up here:
    the server has settled within seconds of the replan.
    """
    (ready,) = served_empty.daemon.client.get_checks(names=[READY_CHECK])

    assert not served_empty.daemon.healthy("ready")  # what Juju's readiness probe reads
    assert ready.status == pebble.CheckStatus.DOWN
    assert (ready.threshold, ready.failures >= 1) == (1, True)
