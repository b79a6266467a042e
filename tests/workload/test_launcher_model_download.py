"""Workers that load their own model share one download of a remote model.

The model is served over HTTP on loopback by a server that counts what it is
asked for; the launcher runs the charm's command with that URL as its
`--model_dir` (kserve-storage downloads http(s) URLs). The servers are the
stand-ins, or upstream's own with KSERVE_PYTHON_DIR.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Generator
from pathlib import Path

import pytest

from bench.connections import LISTEN, sockets_held, tcp_sockets
from bench.processes import kill_group
from bench.servers import Command, Endpoint, running, server_base_environment
from model_server_charm.families.kserve_python.family import SERVER_ERROR_FILE
from tests.charms import BY_NAME
from tests.workload.charm_cases import CASES
from tests.workload.harness import (
    charm_command,
    charm_options,
    processes_started_with,
    running_server,
)
from tests.workload.loopback_http import AnswerHandler, loopback_server

pytestmark = pytest.mark.slow

CASE = next(case for case in CASES if case.name == "sklearn")
READY_TIMEOUT_S = 120.0
EXIT_TIMEOUT_S = 120.0
DOWNLOAD_DIR_GLOB = "kserve-model-*"
# A model file whose download waits until the test releases it.
SLOW_PATH = "/slow.joblib"
DOWNLOAD_ENTRY = "kserve_launcher.model_download"


@dataclasses.dataclass
class ModelFiles:
    """A loopback HTTP server of one directory's files, counting the GETs of each path."""

    url: str
    gets: Counter[str]
    # Ends the wait of a request for SLOW_PATH (which then gets a 404).
    release: threading.Event


@pytest.fixture
def model_files(tmp_path: Path) -> Generator[ModelFiles]:
    directory = tmp_path / "served"
    directory.mkdir()
    CASE.build(directory)
    gets: Counter[str] = Counter()
    release = threading.Event()

    class Handler(AnswerHandler):
        def get(self) -> None:
            gets[self.path] += 1
            if self.path == SLOW_PATH:
                release.wait(EXIT_TIMEOUT_S)
            file = directory / self.path.lstrip("/")
            if "/" in self.path.lstrip("/") or not file.is_file():
                self.send_error(404)
                return
            self.answer(file.read_bytes(), "application/octet-stream")

    with loopback_server(Handler) as server:
        try:
            yield ModelFiles(f"http://127.0.0.1:{server.server_port}", gets, release)
        finally:
            release.set()


def _command_with_model_at(url: str, scratch: Path, workers: int):
    """The charm's command for the sklearn case with `workers`, its --model_dir set to `url`."""
    options = charm_options(scratch / "unused", **{**CASE.options, "workers": workers})
    _, command = charm_command(
        BY_NAME[CASE.charm.name], options, scratch, environment={"TMPDIR": str(scratch)}
    )
    argv = [
        f"--model_dir={url}" if arg.startswith("--model_dir=") else arg for arg in command.argv
    ]
    return options, dataclasses.replace(command, argv=tuple(argv))


@dataclasses.dataclass(frozen=True)
class RemoteModelServer:
    """The charm's command with 2 workers for the model file that `model_files` serves."""

    model_file: str
    scratch: Path
    command: Command
    endpoint: Endpoint


def _remote_model_server(model_files: ModelFiles, tmp_path: Path) -> RemoteModelServer:
    (model_file,) = (path.name for path in (tmp_path / "served").iterdir())
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    options, command = _command_with_model_at(f"{model_files.url}/{model_file}", scratch, 2)
    endpoint = Endpoint(
        "model", scratch / "unused", int(options["http-port"]), int(options["grpc-port"])
    )
    return RemoteModelServer(model_file, scratch, command, endpoint)


def test_a_remote_model_is_downloaded_once_for_every_worker(
    model_files: ModelFiles, tmp_path: Path
):
    served = _remote_model_server(model_files, tmp_path)
    model_file, scratch = served.model_file, served.scratch
    example = CASE.examples[0]

    with running(
        served.command, served.endpoint, scratch / "server.log", READY_TIMEOUT_S
    ) as server:
        answer = server.client.infer(example.protocol, json.dumps(example.body).encode())
        (download_dir,) = scratch.glob(DOWNLOAD_DIR_GLOB)
        workers = _processes_whose_argv_has(f"--model_dir={download_dir / 'model'}")

    assert answer.status == 200, answer.body
    assert example.answer(json.loads(answer.body)) == example.expected
    assert model_files.gets == Counter({f"/{model_file}": 1})
    assert len(workers) == 2, workers
    assert all(
        argv[-2:] == ["--workers=1", f"--model_dir={download_dir / 'model'}"]
        for argv in workers.values()
    )
    assert "downloaded the model once for 2 workers" in (scratch / "server.log").read_text()
    assert list(scratch.glob(DOWNLOAD_DIR_GLOB)) == []


def test_a_copy_left_by_a_killed_launcher_is_removed_at_the_next_start(
    model_files: ModelFiles, tmp_path: Path
):
    """Pebble SIGKILLs the server's whole group once its kill-delay has passed."""
    served = _remote_model_server(model_files, tmp_path)
    scratch = served.scratch
    with running(served.command, served.endpoint, scratch / "killed.log", READY_TIMEOUT_S) as one:
        kill_group(one.pid)
        left = list(scratch.glob(DOWNLOAD_DIR_GLOB))

    with running(served.command, served.endpoint, scratch / "next.log", READY_TIMEOUT_S):
        copies = list(scratch.glob(DOWNLOAD_DIR_GLOB))

    (left_by_the_killed,) = left
    (its_own,) = copies
    assert its_own != left_by_the_killed
    removal = (
        f"removed the model copies killed launchers left in {scratch}: {left_by_the_killed.name}"
    )
    assert removal in (scratch / "next.log").read_text()


def test_a_model_that_cannot_be_downloaded_fails_the_server_and_no_worker_starts(
    model_files: ModelFiles, tmp_path: Path
):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    _, command = _command_with_model_at(f"{model_files.url}/missing.joblib", scratch, 2)

    result = subprocess.run(
        command.argv,
        env={**server_base_environment(), **command.environment},
        capture_output=True,
        timeout=EXIT_TIMEOUT_S,
        check=False,
    )

    reason = (scratch / Path(SERVER_ERROR_FILE).name).read_text().strip()
    assert result.returncode == 1, result.stderr[-2000:]
    assert reason.startswith("sklearnserver: the model download failed: "), reason
    assert f"{model_files.url}/missing.joblib" in reason, reason
    assert model_files.gets == Counter({"/missing.joblib": 1})
    assert list(scratch.glob(DOWNLOAD_DIR_GLOB)) == []
    assert processes_started_with(str(scratch)) == {}


def test_a_killed_download_is_named_and_leaves_no_copy(model_files: ModelFiles, tmp_path: Path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    _, command = _command_with_model_at(f"{model_files.url}{SLOW_PATH}", scratch, 2)
    environment = {**server_base_environment(), **command.environment}
    launcher = subprocess.Popen(command.argv, env=environment, stderr=subprocess.DEVNULL)
    try:
        (download,) = _started(DOWNLOAD_ENTRY, f"{model_files.url}{SLOW_PATH}")
        os.kill(download, signal.SIGKILL)
        status = launcher.wait(timeout=EXIT_TIMEOUT_S)
    finally:
        model_files.release.set()
        launcher.kill()
        launcher.wait()

    reason = (scratch / Path(SERVER_ERROR_FILE).name).read_text().strip()
    assert status == 128 + signal.SIGKILL
    assert reason == "sklearnserver: the model download was killed by SIGKILL"
    assert list(scratch.glob(DOWNLOAD_DIR_GLOB)) == []
    assert processes_started_with(str(scratch)) == {}


def _started(*arguments: str) -> list[int]:
    """The processes with all of `arguments` on their command line, once there are any."""
    deadline = time.monotonic() + EXIT_TIMEOUT_S
    while time.monotonic() < deadline:
        found = _processes_whose_argv_has(arguments[0])
        started = [pid for pid, argv in found.items() if set(arguments) <= set(argv)]
        if started:
            return started
        time.sleep(0.1)
    return []


def test_one_worker_is_one_server_process_holding_its_own_port(tmp_path: Path):
    """With one worker there is nothing to deal: the server process binds the port itself."""
    model_dir = CASE.model_in(tmp_path / "model")
    options = {**CASE.options, "workers": 1}

    with running_server(CASE.charm, options, model_dir, tmp_path / "scratch") as server:
        listeners = _listening_holders(server.port)
        servers = _processes_whose_argv_has(f"--model_dir={model_dir}")

    assert server.plan.environment["KSERVE_LAUNCHER_WORKERS_LOAD_MODEL"] == "true"
    assert [argv[1:3] for argv in servers.values()] == [
        ["-m", "kserve_launcher"],
        ["-m", "kserve_launcher.server"],
    ]
    (server_process,) = (pid for pid, argv in servers.items() if argv[2] != "kserve_launcher")
    assert listeners == {server_process}, (listeners, server.pid)


def _processes_whose_argv_has(argument: str) -> dict[int, list[str]]:
    """Every process with `argument` on its command line: pid -> command line, by pid."""
    found: dict[int, list[str]] = {}
    for cmdline in sorted(Path("/proc").glob("[0-9]*/cmdline"), key=lambda p: int(p.parent.name)):
        try:
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")[:-1]
        except OSError:
            continue  # ended while we looked, or not ours to read
        if argument in argv:
            found[int(cmdline.parent.name)] = argv
    return found


def _listening_holders(port: int) -> set[int]:
    """The processes holding a socket that listens on TCP `port`."""
    listening = tcp_sockets(port, LISTEN)
    pids = (int(path.name) for path in Path("/proc").glob("[0-9]*"))
    return {pid for pid in pids if sockets_held(pid) & listening}
