"""The server's worker processes: how many by default, and how each gets its model."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
from ops import testing

from model_server_charm.families.kserve_python import family as kserve_python
from model_server_charm.families.kserve_python import workers as worker_rule
from tests.charms import BY_NAME, KSERVE_CHARMS, ThinCharm
from tests.unit.conftest import MODEL_URI, container

# The runtimes whose workers load the model themselves (runtimes.yaml), by name: every
# runtime that runs more than one worker.
WORKERS_LOAD_MODEL = {
    "sklearn",
    "xgboost",
    "lightgbm",
    "pmml",
    "paddle",
    "predictive",
    "autogluon",
}


def _planned(charm: ThinCharm, **options: Any) -> tuple[list[str], dict[str, str]]:
    """The server's argv and environment that config-changed plans."""
    ctx = testing.Context(charm.charm_type)
    state = testing.State(config={"model-uri": MODEL_URI, **options}, containers={container()})
    out = ctx.run(ctx.on.config_changed(), state)
    service = out.get_container("server").plan.services[charm.charm_type.runtime.service_name]
    return shlex.split(service.command), dict(service.environment)


@pytest.mark.parametrize(
    ("charm_name", "options", "node_cpus", "workers"),
    [
        ("sklearn-server", {}, 4, 4),
        ("sklearn-server", {}, 1, 1),
        ("sklearn-server", {}, 16, 8),  # the runtime's max-workers
        ("sklearn-server", {"cpu": "500m"}, 16, 1),
        ("sklearn-server", {"cpu": "1500m"}, 16, 2),  # rounded up
        ("sklearn-server", {"cpu": "2"}, 16, 2),
        ("sklearn-server", {"cpu": "64"}, 16, 8),
        ("sklearn-server", {"workers": 3, "cpu": "500m"}, 16, 3),  # set: as set
        ("pmml-server", {}, 4, 4),
        ("huggingface-server", {}, 4, 1),
        ("predictive-server", {"framework": "lightgbm"}, 4, 4),  # each worker loads its own
        ("predictive-server", {"framework": "xgboost"}, 4, 4),
    ],
)
def test_default_workers_are_one_per_cpu_of_the_pod(
    monkeypatch: pytest.MonkeyPatch,
    charm_name: str,
    options: dict[str, Any],
    node_cpus: int,
    workers: int,
):
    monkeypatch.setattr(worker_rule, "node_cpus", lambda: node_cpus)

    argv, _ = _planned(BY_NAME[charm_name], **options)

    assert [arg for arg in argv if arg.startswith("--workers=")] == [f"--workers={workers}"]


def test_the_node_has_at_least_one_cpu():
    assert worker_rule.node_cpus() >= 1


@pytest.mark.parametrize("charm", KSERVE_CHARMS, ids=[charm.name for charm in KSERVE_CHARMS])
def test_workers_load_the_model_themselves_where_runtimes_yaml_says(charm: ThinCharm):
    runtime = charm.charm_type.runtime

    _, environment = _planned(charm, workers=2 if runtime.max_workers > 1 else 1)

    loads_itself = environment.get(kserve_python.WORKERS_LOAD_MODEL_ENV) == "true"
    assert loads_itself == (runtime.name in WORKERS_LOAD_MODEL)
    assert runtime.workers_load_model == (runtime.name in WORKERS_LOAD_MODEL)
    assert runtime.max_workers > 1 or runtime.name == "huggingface"
