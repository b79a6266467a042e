"""Run amdinfer-server (the stand-in, or a real build: amdinfer_server.py) and talk to it.

The model repository it serves holds the echo entry exactly as the proteus-server
rock ships it (rocks/proteus-server/repository/echo/config.toml), with the
build's `libecho.so` in `1/` (the stand-in: a placeholder of that name).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.servers import REPO_ROOT, free_port
from tests.workload.amdinfer_server import amdinfer_server, listeners

ECHO_ENTRY = REPO_ROOT / "rocks" / "proteus-server" / "repository" / "echo"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
REQUEST_TIMEOUT_S = 10.0
ECHO_REQUEST: dict[str, Any] = {
    "inputs": [{"name": "echo", "shape": [1], "datatype": "UINT32", "data": [3]}]
}


@dataclass(frozen=True)
class Reply:
    """An HTTP answer; status 0 when the connection closed without one."""

    status: int
    text: str
    content_type: str = ""

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.text)


def make_repository(path: Path, entries: Sequence[str] = ("echo",)) -> Path:
    """A model repository with the rock's echo entry under each name (config name = entry).

    Each entry's model file is written before its config, which a watching server loads.
    """
    path.mkdir(parents=True, exist_ok=True)
    for name in entries:
        entry = path / name
        (entry / "1").mkdir(parents=True)
        (entry / "1" / "libecho.so").write_bytes(amdinfer_server().echo_library())
        config = (ECHO_ENTRY / "config.toml").read_text()
        (entry / "config.toml").write_text(config.replace('name = "echo"', f'name = "{name}"', 1))
    return path


def server_environment(home: Path, *, confined: bool = True) -> dict[str, str]:
    """The environment of this process with HOME set, for the server under test."""
    return amdinfer_server().environment({**os.environ, "HOME": str(home)}, confined=confined)


def http(
    method: str,
    url: str,
    body: bytes | Mapping[str, Any] | None = None,
    content_type: str | None = "application/json",
) -> Reply:
    """One request (a mapping body is sent as JSON); never raises for an HTTP status."""
    data = json.dumps(body).encode() if isinstance(body, Mapping) else body
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as answer:
            return Reply(answer.status, answer.read().decode(), answer.headers["Content-Type"])
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read().decode(), error.headers["Content-Type"] or "")
    except (urllib.error.URLError, ConnectionError) as error:
        return Reply(0, str(error))


@dataclass(frozen=True)
class RunningAmdinfer:
    """A running amdinfer-server."""

    process: subprocess.Popen[bytes]
    url: str
    home: Path
    repository: Path

    @property
    def log_dir(self) -> Path:
        """Where it writes server.log and drogon.log."""
        return self.home / ".amdinfer" / "logs"

    def server_log(self) -> list[str]:
        """server.log's lines without their time: `[server] [level] [file:line] message`."""
        lines = (self.log_dir / "server.log").read_text().splitlines()
        return [line.split("] ", 1)[1] for line in lines]

    def drogon_log(self) -> list[str]:
        """Drogon's lines (its log, then the renamed ones) without time and thread."""
        paths = sorted(
            self.log_dir.glob("drogon*.log"), key=lambda path: path.name != "drogon.log"
        )
        return [line.split(" ", 4)[4] for path in paths for line in path.read_text().splitlines()]

    def get(self, path: str) -> Reply:
        """GET a path of the REST API."""
        return http("GET", self.url + path)

    def post(
        self, path: str, body: bytes | Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Reply:
        """POST to a path of the REST API (JSON content type unless told otherwise)."""
        return http("POST", self.url + path, body, **kwargs)

    def wait_exit(self) -> int:
        """The exit status once the server has ended (negative: killed by that signal)."""
        return self.process.wait(timeout=STOP_TIMEOUT_S)


def wait_until(condition: Any, timeout_s: float, what: str) -> None:
    """Poll `condition()` until true; fail with `what` after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.1)


@contextmanager
def running_amdinfer(
    workdir: Path,
    arguments: Sequence[str] = ("--repository-monitoring",),
    port: int | None = None,
) -> Generator[RunningAmdinfer]:
    """Start the server under test in workdir (HOME workdir/home, repository workdir/models).

    It serves HTTP on `port` (a free one if None), on 127.0.0.1.
    """
    home, repository = workdir / "home", workdir / "models"
    home.mkdir(parents=True, exist_ok=True)
    if not repository.exists():
        make_repository(repository)
    port = port or free_port()
    argv = ["--model-repository", str(repository), "--http-port", str(port), *arguments]
    process = subprocess.Popen(
        amdinfer_server().command([*argv, "--grpc-port", str(free_port())]),
        cwd=workdir,
        env=server_environment(home),
    )
    server = RunningAmdinfer(process, f"http://127.0.0.1:{port}", home, repository)
    try:
        wait_until(
            lambda: process.poll() is not None or server.get("/v2/health/live").status == 200,
            START_TIMEOUT_S,
            f"{amdinfer_server().name} answers /v2/health/live",
        )
        assert process.poll() is None, f"{amdinfer_server().name} exited with {process.returncode}"
        exposed = [found for found in listeners(process.pid) if not found.is_loopback]
        assert not exposed, f"{amdinfer_server().name} listens beyond loopback: {exposed}"
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
