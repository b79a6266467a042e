"""The proteus-server rock's amdinfer-serve keeps the server's logs off the disk and useful.

The wrapper runs here exactly as the rock installs it, with `amdinfer-server`
on PATH being the workload tests' server under test (the stand-in, or with
AMDINFER_PREFIX a real build: tests/workload/amdinfer_server.py), which writes
its log files as the real server does (server.log opened by path, truncated,
then appended to; drogon.log created at its first line, appended to and
renamed at a clean stop). As under Pebble, the
wrapper's output is a pipe created by root, and the server may run as another
user: a case checked here when the tests run as root.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from bench.processes import kill_group
from bench.servers import free_port
from tests.rocks.rockcraft_projects import ROCKS_DIR
from tests.workload.amdinfer_run import (
    ECHO_REQUEST,
    http,
    make_repository,
    server_environment,
    wait_until,
)
from tests.workload.amdinfer_server import amdinfer_server

WRAPPER = ROCKS_DIR / "proteus-server" / "bin" / "amdinfer-serve"
TIMEOUT_S = 20.0
OTHER_USER = "nobody"
# An interpreter another user can run: the tests' own may live under /root.
SYSTEM_PYTHON = "/usr/bin/python3"
INFER_LINE = "[server] [info] [http_server.cpp:497] Received modelInfer request for echo"


@dataclass(frozen=True)
class WrapperRun:
    """amdinfer-serve running the stand-in, serving on url."""

    process: subprocess.Popen[bytes]
    url: str
    log_dir: Path

    def infer(self, model: str = "echo", content_type: str = "application/json") -> int:
        """One echo request; its HTTP status (0: no answer)."""
        return http(
            "POST", f"{self.url}/v2/models/{model}/infer", ECHO_REQUEST, content_type
        ).status

    def stop(self) -> int:
        """SIGTERM, as Pebble stops a service; the wrapper's exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=TIMEOUT_S)


def write_shim(directory: Path, python: str) -> Path:
    """A directory whose `amdinfer-server` runs the server under test (stand-in: on `python`)."""
    directory.mkdir(parents=True, exist_ok=True)
    shim = directory / "amdinfer-server"
    shim.write_text(amdinfer_server().launcher(python))
    shim.chmod(0o755)
    return directory


@contextmanager
def running_wrapper(
    workdir: Path,
    environment: Mapping[str, str] | None = None,
    output: IO[bytes] | int | None = None,
    python: str = sys.executable,
    user: str | None = None,
) -> Generator[WrapperRun]:
    """Start `amdinfer-serve` in workdir (HOME workdir/home) as the rock's service would."""
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    repository = workdir / "models"
    if not repository.exists():
        make_repository(repository)
    shims = write_shim(workdir / "bin", python)
    port = free_port()
    env = server_environment(home)
    env = {**env, **(environment or {}), "PATH": f"{shims}{os.pathsep}{env['PATH']}"}
    if user is not None:
        shutil.chown(home, user)
    process = subprocess.Popen(
        [str(WRAPPER), f"--model-repository={repository}", "--repository-monitoring",
         f"--http-port={port}", f"--grpc-port={free_port()}"],
        env=env, stdout=output, stderr=output, user=user, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: process.poll() is not None or http("GET", f"{url}/v2/health/live").status,
            TIMEOUT_S,
            "the server behind amdinfer-serve answers",
        )
        assert process.poll() is None, f"amdinfer-serve exited with {process.returncode}"
        yield WrapperRun(process, url, home / ".amdinfer" / "logs")
    finally:
        # The wrapper's session: the server, the log copiers, a pending sleep.
        kill_group(process.pid)
        process.wait(timeout=TIMEOUT_S)


def regular_files(directory: Path) -> dict[str, int]:
    """The regular files of a directory, with their sizes."""
    return {
        p.name: p.stat().st_size for p in directory.iterdir() if p.is_file() and not p.is_symlink()
    }


def test_server_log_goes_to_standard_output_through_a_fifo(tmp_path: Path):
    out = tmp_path / "out.txt"
    with out.open("wb") as output, running_wrapper(tmp_path, output=output) as run:
        statuses = [run.infer() for _ in range(3)]
        wait_until(lambda: out.read_text().count(INFER_LINE) == 3, TIMEOUT_S, "3 request lines")
        fifo = stat.S_ISFIFO((run.log_dir / "server.log").stat().st_mode)
        on_disk = regular_files(run.log_dir)
        status = run.stop()

    assert (statuses, status) == ([200] * 3, 0)
    assert fifo
    assert on_disk == {}, "nothing but the FIFO: drogon wrote nothing, so made no log"


def test_exit_status_is_the_servers(tmp_path: Path):
    out = tmp_path / "out.txt"
    with out.open("wb") as output, running_wrapper(tmp_path, output=output) as run:
        answer = run.infer(content_type="text/plain")  # the server segfaults
        status = run.process.wait(timeout=TIMEOUT_S)

    assert (answer, status) == (0, 128 + signal.SIGSEGV)
    assert INFER_LINE in out.read_text(), "the line logged before the crash reached the output"


def test_drogon_log_goes_to_standard_error_and_leaves_the_disk(tmp_path: Path):
    err = tmp_path / "err.txt"
    every_second = {"AMDINFER_DROGON_LOG_INTERVAL": "1"}
    with err.open("wb") as output, running_wrapper(tmp_path, every_second, output) as run:
        assert run.infer(model="unknown") == 500  # drogon logs the escaped exception
        wait_until(lambda: "ERROR Unhandled exception" in err.read_text(), TIMEOUT_S, "copied")
        wait_until(lambda: not regular_files(run.log_dir)["drogon.log"], TIMEOUT_S, "emptied")
        status = run.stop()

    assert status == 0
    assert regular_files(run.log_dir) == {}, "the copy drogon renames at a clean stop is gone"
    assert err.read_text().count("ERROR Unhandled exception") == 1


def test_logs_a_killed_run_left_are_forwarded_at_start(tmp_path: Path):
    log_dir = tmp_path / "home" / ".amdinfer" / "logs"
    log_dir.mkdir(parents=True)
    (log_dir / "drogon.261201-100000.000000.log").write_text("left by a killed run\n")
    err = tmp_path / "err.txt"

    with err.open("wb") as output, running_wrapper(tmp_path, output=output) as run:
        left = regular_files(run.log_dir)
        assert run.stop() == 0

    assert left == {}
    assert "left by a killed run" in err.read_text()


def test_server_log_off_links_to_dev_null(tmp_path: Path):
    out = tmp_path / "out.txt"
    off = {"AMDINFER_SERVER_LOG": "off"}
    with out.open("wb") as output, running_wrapper(tmp_path, off, output) as run:
        status = run.infer()
        target = os.readlink(run.log_dir / "server.log")
        assert run.stop() == 0

    assert (status, target) == (200, "/dev/null")
    assert INFER_LINE not in out.read_text()


def test_unknown_log_mode_starts_nothing(tmp_path: Path):
    result = subprocess.run(
        [str(WRAPPER)],
        env={**os.environ, "HOME": str(tmp_path), "AMDINFER_SERVER_LOG": "file"},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )

    assert result.returncode == 2
    assert "AMDINFER_SERVER_LOG is stdout or off, not 'file'" in result.stderr
    assert not (tmp_path / ".amdinfer").exists()


@pytest.fixture
def other_user_workdir() -> Iterator[Path]:
    """A directory another user can use; skip unless root with a system Python 3.11+."""
    if os.geteuid() != 0:
        pytest.skip("running a service as another user needs root")
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import tomllib"], capture_output=True, check=False
    ) if Path(SYSTEM_PYTHON).exists() else None  # fmt: skip
    if probe is None or probe.returncode != 0:
        pytest.skip(
            f"{SYSTEM_PYTHON} with tomllib (Python 3.11+) is needed to run as {OTHER_USER}"
        )
    workdir = Path(tempfile.mkdtemp(prefix="amdinfer-serve-"))
    workdir.chmod(0o755)
    yield workdir
    shutil.rmtree(workdir)


def test_runs_as_another_user_behind_a_root_owned_pipe(other_user_workdir: Path):
    pipe = subprocess.PIPE
    with running_wrapper(other_user_workdir, None, pipe, SYSTEM_PYTHON, OTHER_USER) as run:
        statuses = [run.infer() for _ in range(2)]
        run.process.send_signal(signal.SIGTERM)
        out, _ = run.process.communicate(timeout=TIMEOUT_S)

    assert (statuses, run.process.returncode) == ([200, 200], 0)
    assert out.decode().count(INFER_LINE) == 2


def test_a_link_to_dev_stdout_would_not_do(other_user_workdir: Path):
    """Why a FIFO: the server's user cannot reopen Pebble's root-owned pipe by path."""
    reopen = "open('/proc/self/fd/1', 'w')"
    result = subprocess.run(
        [SYSTEM_PYTHON, "-c", reopen], capture_output=True, text=True, user=OTHER_USER,
        cwd=other_user_workdir, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip

    assert result.returncode != 0
    assert "PermissionError" in result.stderr
