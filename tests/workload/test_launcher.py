"""The rocks' launcher with real servers: starting on a starved CPU, and why a server failed.

The servers are the stand-ins, or upstream's own with KSERVE_PYTHON_DIR, run
through `kserve_launcher` from this repository (rocks/common), mostly with
the charm's own command (`harness.charm_command`).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.servers import ServerStartError, free_port, server_base_environment
from model_server_charm.families.kserve_python.family import SERVER_ERROR_FILE
from tests.charms import BY_NAME
from tests.workload.charm_cases import CASES
from tests.workload.harness import (
    charm_command,
    charm_options,
    processes_started_with,
    running_server,
)

pytestmark = pytest.mark.slow

CASES_BY_NAME = {case.name: case for case in CASES}
# Busy loops on the one CPU the server may use: each takes an equal share of it.
CPU_HOGS = 8
STARVED_WORKERS = 2
STARVED_READY_TIMEOUT_S = 300.0
# How long the server is watched under kserve's own 5 s rule (it may never serve).
UPSTREAM_RULE_WINDOW_S = 60.0
GRACE_ENV = "KSERVE_LAUNCHER_WORKER_START_GRACE"
# kserve spawns the workers and pickles the first process's model into them.
KSERVE_WORKERS = {"KSERVE_LAUNCHER_WORKERS_LOAD_MODEL": "false"}
REPLACED = re.compile(r"^kserve_launcher: kserve worker \d+ .*; kserve replaces it$", re.M)
ANSWERED_LATE = re.compile(r"^kserve_launcher: kserve worker \d+ answered its first .*", re.M)
EXIT_TIMEOUT_S = 120.0


@contextmanager
def cpu_hogs(cpu: int, count: int, bound_s: float) -> Generator[None]:
    """`count` busy loops pinned to `cpu`, ended after the block (by `timeout` at the latest).

    Each in a session of its own: with the scheduler's autogroups (one per
    session) the server, in its own session, would otherwise get half the CPU
    whatever the number of loops.
    """
    loop = [sys.executable, "-c", "while True: pass"]
    bounded = ["timeout", str(int(bound_s)), "taskset", "-c", str(cpu), *loop]
    hogs = [subprocess.Popen(bounded, start_new_session=True) for _ in range(count)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.terminate()
        for hog in hogs:
            hog.wait()


def _restarts(log: Path) -> tuple[int, int]:
    """Workers kserve replaced, and first answers that came after kserve's 5 s, in a server log."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return len(REPLACED.findall(text)), len(ANSWERED_LATE.findall(text))


def test_kserves_own_workers_come_up_on_a_starved_cpu(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """Two workers on one CPU shared with busy loops: kserve's 5 s ping alone kills them.

    kserve's own workers (a rock run without the launcher's mode in which each worker loads
    its own model, e.g. by a ServingRuntime given --workers): the xgboost case, mode off.
    """
    if shutil.which("taskset") is None or shutil.which("timeout") is None:
        pytest.skip("taskset and timeout (util-linux, coreutils) pin and bound the CPU hogs")
    case = CASES_BY_NAME["xgboost"]
    model_dir = case.model_in(tmp_path / "model")
    cpu = max(os.sched_getaffinity(0))
    pinned = ("taskset", "-c", str(cpu))
    options = {**case.options, "workers": STARVED_WORKERS}
    bound = UPSTREAM_RULE_WINDOW_S + STARVED_READY_TIMEOUT_S + 60
    with cpu_hogs(cpu, CPU_HOGS, bound):
        upstream_rule = tmp_path / "upstream-rule"
        upstream_ready = True
        try:
            with running_server(
                case.charm, options, model_dir, upstream_rule, UPSTREAM_RULE_WINDOW_S,
                prefix=pinned, environment={**KSERVE_WORKERS, GRACE_ENV: "0"},
            ):  # fmt: skip
                pass
        except ServerStartError:
            upstream_ready = False
        started = time.monotonic()
        with running_server(
            case.charm, options, model_dir, tmp_path / "grace", STARVED_READY_TIMEOUT_S,
            prefix=pinned, environment=KSERVE_WORKERS,
        ) as server:  # fmt: skip
            ready_after = time.monotonic() - started
            assert server.client.model_ready()
    replaced, _ = _restarts(upstream_rule / "server.log")
    replaced_with_grace, answered_late = _restarts(tmp_path / "grace" / "server.log")
    with capsys.disabled():
        print(
            f"\n{case.name}, {STARVED_WORKERS} workers on CPU {cpu} with {CPU_HOGS} busy loops:"
            f" kserve's 5 s rule: {replaced} workers replaced in {UPSTREAM_RULE_WINDOW_S:.0f} s"
            f" ({'ready' if upstream_ready else 'never ready'});"
            f" with the launcher's start-up grace: {replaced_with_grace} replaced, ready after"
            f" {ready_after:.0f} s, {answered_late} first answers after 5 s"
        )
    assert replaced_with_grace == 0
    # The starvation was real: kserve's rule would have replaced these workers.
    assert answered_late >= 1


def _launch(
    argv: list[str], scratch: Path, environment: dict[str, str] | None = None
) -> tuple[int, str]:
    """Run the launcher (bounded) until it exits: its status and the error file's reason."""
    error_file = scratch / Path(SERVER_ERROR_FILE).name
    launcher_environment = {
        **server_base_environment(),
        "PROMETHEUS_MULTIPROC_DIR": str(scratch / "metrics"),
        "KSERVE_LAUNCHER_ERROR_FILE": str(error_file),
        **(environment or {}),
    }
    result = subprocess.run(
        [sys.executable, "-m", "kserve_launcher", *argv],
        env=launcher_environment,
        capture_output=True,
        timeout=EXIT_TIMEOUT_S,
        check=False,
    )
    return result.returncode, error_file.read_text().strip() if error_file.exists() else ""


@pytest.mark.parametrize("module", sorted({case.runtime.server_module for case in CASES[:5]}))
def test_a_server_exiting_with_a_status_leaves_its_last_error_line(module: str, tmp_path: Path):
    """Upstream's parsers require --model_dir: argparse's error line names the cause."""
    argv = [module, "--model_name=model", f"--http_port={free_port()}"]

    status, reason = _launch(argv, tmp_path)

    assert status == 2
    assert reason == (
        f"{module} exited with status 2: {module}: error: the following arguments are"
        " required: --model_dir"
    )


def _server_package(directory: Path, name: str, main_source: str) -> dict[str, str]:
    """A server package `name` in `directory` running `main_source`; the environment finding it."""
    package = directory / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(main_source)
    return {"PYTHONPATH": f"{directory}{os.pathsep}{server_base_environment()['PYTHONPATH']}"}


def test_a_server_logging_an_error_then_exiting_is_named_by_that_error(tmp_path: Path):
    """As upstream's huggingfaceserver does: kserve's logger at ERROR, then exit status 1."""
    environment = _server_package(
        tmp_path,
        "loggingserver",
        "import sys\nfrom kserve import logging\nfrom kserve.logging import logger\n"
        "logging.configure_logging()\n"
        "logger.error('Failed to start model server: device type could not be inferred')\n"
        "sys.exit(1)\n",
    )

    status, reason = _launch(["loggingserver"], tmp_path, environment)

    assert status == 1
    assert reason == (
        "loggingserver exited with status 1: Failed to start model server: device type could"
        " not be inferred"
    )


@pytest.mark.parametrize(("setting", "backend"), [(None, "sequential"), ("false", "loky")])
def test_a_server_process_runs_joblib_as_the_launcher_says(
    setting: str | None, backend: str, tmp_path: Path
):
    """The server module sees joblib's default backend, and exits with it as its reason."""
    environment = _server_package(
        tmp_path,
        "joblibserver",
        "import sys\nimport joblib.parallel\nsys.exit(joblib.parallel.DEFAULT_BACKEND)\n",
    )
    if setting is not None:
        environment["KSERVE_LAUNCHER_JOBLIB_SEQUENTIAL"] = setting

    status, reason = _launch(["joblibserver"], tmp_path, environment)

    assert (status, reason) == (1, f"joblibserver exited: {backend}")


def test_a_killed_server_is_named_and_leaves_nothing_behind(tmp_path: Path):
    case = CASES_BY_NAME["sklearn"]
    model_dir = case.model_in(tmp_path / "model")
    with running_server(case.charm, {"workers": 1}, model_dir, tmp_path / "s") as server:
        (server_process,) = _children(server.pid)
        os.kill(server_process, signal.SIGKILL)
        launcher_exit = os.waitpid(server.pid, 0)[1]

    assert os.waitstatus_to_exitcode(launcher_exit) == 128 + signal.SIGKILL
    reason = (tmp_path / "s" / Path(SERVER_ERROR_FILE).name).read_text().strip()
    assert reason == "sklearnserver was killed by SIGKILL"
    assert processes_started_with(str(tmp_path / "s")) == {}


@pytest.mark.parametrize("name", ["lightgbm", "pmml"])
def test_a_worker_that_cannot_load_its_model_fails_the_server(name: str, tmp_path: Path):
    """Workers loading their own model: one failure stops them all, its reason in the file."""
    case = CASES_BY_NAME[name]
    model_dir = case.model_in(tmp_path / "model")
    for path in model_dir.iterdir():
        path.write_text("not a model\n")
    scratch = tmp_path / "scratch"
    options = charm_options(model_dir, **{**case.options, "workers": 2})
    _, command = charm_command(BY_NAME[case.charm.name], options, scratch)
    scratch.mkdir()

    status, reason = _launch(list(command.argv[3:]), scratch, dict(command.environment))

    assert status == 1
    module = case.runtime.server_module
    assert re.fullmatch(rf"{module} failed: \w+: .+ \(worker [12] of 2\)", reason), reason
    assert processes_started_with(str(scratch)) == {}


def _children(pid: int) -> list[int]:
    return [
        int(stat.parent.name)
        for stat in Path("/proc").glob("[0-9]*/stat")
        if stat.exists() and int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid
    ]
