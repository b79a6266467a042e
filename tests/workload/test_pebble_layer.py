"""The charm's own Pebble layer, run by the real Pebble daemon: user, checks, restarts.

Per case (tests/workload/charm_cases.py: every charm, on a model built here).
The layer is the one the charm adds under Scenario (`tests.charm_plan`) for
the case's options, with only the paths that differ on this machine mapped
(`harness.host_layer`); its checks keep the charm's timing (the alive check
every 10 s, down after 3 failures; the ready check of a server that starts,
the loading one, every second, down after one). The server is the stand-in
runtime (or the upstream one with KSERVE_PYTHON_DIR), as in
test_model_server.py, run by the tox environment's own server venv
(`server_runtime`). One worker: worker processes are not what
these tests are about (test_model_server.py and test_launcher.py are).
"""

from __future__ import annotations

import os
import pwd
import re
import signal
from collections.abc import Generator
from pathlib import Path

import pytest
from ops import pebble

from model_server_charm import k8s_resources
from model_server_charm.families.kserve_python.family import SERVER_ERROR_FILE
from model_server_charm.layer import ALIVE_CHECK, READY_CHECK
from tests.charm_plan import UntrustedClient
from tests.workload.charm_cases import CharmCase, first_of_its_environment
from tests.workload.harness import (
    CharmOnPebble,
    charm_on_pebble,
    charm_options,
    processes_started_with,
)
from tests.workload.pebble_daemon import process_uid
from tests.workload.server_runtime import ServerRuntime

pytestmark = pytest.mark.slow

WORKERS = 1
# Two check periods and a check's timeout, for the ready check to have run and passed.
CHECK_PASS_TIMEOUT_S = 35.0
# Threshold x period until the alive check gives up, Pebble's kill-delay, a restart.
RESTART_TIMEOUT_S = 120.0
FAILURE_TIMEOUT_S = 150.0
# Pebble's backoff doubles from 0.5 s: three failed starts in a few seconds plus each start.
FAILED_STARTS = 3
FAILED_PREFIX = "model failed to load (Pebble retries): "


def _options(case: CharmCase, model_dir: Path) -> dict[str, object]:
    return charm_options(model_dir, **{**case.options, "workers": WORKERS})


@pytest.fixture(scope="module")
def served(
    pebble_bin: Path,
    server_runtime: ServerRuntime,
    case: CharmCase,
    tmp_path_factory: pytest.TempPathFactory,
) -> Generator[CharmOnPebble]:
    """The charm's layer for the case's model, on Pebble, with the model ready."""
    model_dir = server_runtime.model_directory(f"{case.name}-model", case.build)
    pebble_dir = tmp_path_factory.mktemp("pebble") / "state"
    with charm_on_pebble(
        pebble_bin, server_runtime, case.charm, _options(case, model_dir), pebble_dir
    ) as running:
        running.wait_ready(case.ready_timeout_s)
        yield running


def _count(served: CharmOnPebble, metric: str, name: str) -> int:
    return served.daemon.metrics().get((metric, name), 0)


def test_the_server_runs_as_the_layers_user(served: CharmOnPebble, server_runtime: ServerRuntime):
    if server_runtime.user is None:
        pytest.skip(server_runtime.why_not_user)
    uid = process_uid(served.daemon.service_pid())
    assert served.plan.user == server_runtime.user
    assert uid == pwd.getpwnam(served.plan.user).pw_uid


def test_the_ready_check_passes_once_the_model_is_loaded(served: CharmOnPebble):
    served.daemon.wait_until(
        lambda: _count(served, "pebble_check_success_count", READY_CHECK) >= 1,
        CHECK_PASS_TIMEOUT_S,
        "the ready check passing",
    )
    (ready,) = served.daemon.client.get_checks(names=[READY_CHECK])
    assert ready.status == pebble.CheckStatus.UP
    assert ready.failures == 0


def test_a_server_that_stops_answering_is_restarted_by_the_alive_check(
    case: CharmCase, served: CharmOnPebble
):
    """The same check, signal and restart for every case: one per tox environment (≈40 s)."""
    representative = first_of_its_environment(case)
    if case is not representative:
        pytest.skip(f"the alive check's restart is tested on {representative.name} here")
    daemon = served.daemon
    # As the charm does once the model is ready (the check starts disabled).
    daemon.client.start_checks([ALIVE_CHECK])
    starts = served.start_count()
    stopped = daemon.service_pid()

    os.killpg(stopped, signal.SIGSTOP)  # the whole server hangs: it still listens, never answers
    daemon.wait_until(
        lambda: served.start_count() > starts, RESTART_TIMEOUT_S, "Pebble restarting the server"
    )

    threshold = served.plan.checks[ALIVE_CHECK].threshold
    assert threshold is not None
    assert _count(served, "pebble_check_failure_count", ALIVE_CHECK) >= threshold
    assert not Path(f"/proc/{stopped}").exists()  # killed and reaped
    served.wait_ready(case.ready_timeout_s)
    assert daemon.service_pid() != stopped


def _corrupt_model(case: CharmCase, server_runtime: ServerRuntime) -> Path:
    """The case's model with every file's content replaced: the server fails to load it."""

    def build_corrupt(model_dir: Path) -> None:
        case.build(model_dir)
        for path in model_dir.rglob("*"):
            if path.is_file():
                path.write_text("not a model\n")

    return server_runtime.model_directory(f"{case.name}-corrupt-model", build_corrupt)


def test_a_failing_server_is_restarted_with_backoff_and_the_status_says_why(
    pebble_bin: Path,
    server_runtime: ServerRuntime,
    case: CharmCase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    monkeypatch.setattr(k8s_resources, "kube_client", UntrustedClient)  # no cluster here
    options = _options(case, _corrupt_model(case, server_runtime))
    with charm_on_pebble(
        pebble_bin, server_runtime, case.charm, options, tmp_path / "pebble"
    ) as failing:
        failing.daemon.wait_until(
            lambda: (
                failing.start_count() >= FAILED_STARTS and failing.service_state() == "backoff"
            ),
            FAILURE_TIMEOUT_S,
            f"Pebble backing off after {FAILED_STARTS} failed starts",
        )
        status = failing.unit_status()
        # Nothing of the failed servers is left: pmmlserver's JVM gateway included.
        leftovers = processes_started_with(str(failing.scratch))

    reason = (failing.scratch / Path(SERVER_ERROR_FILE).name).read_text().strip()
    module = case.runtime.server_module
    # The launcher's words: the server's exception, its type and message; or, when the
    # server logged its error and exited (upstream's huggingfaceserver), the last error line.
    assert re.match(rf"{module} (failed: \w+: |exited with status \d+: )\S", reason), reason
    assert status.name == "waiting"
    assert status.message.startswith(f"{FAILED_PREFIX}{module} ")
    assert reason.startswith(status.message.removeprefix(FAILED_PREFIX).rstrip("…"))
    java = sum(name == "java" for name in leftovers.values())
    with capsys.disabled():
        print(f"\n{case.name}: after {FAILED_STARTS} failed starts, {java} java process(es) left")
    assert leftovers == {}
