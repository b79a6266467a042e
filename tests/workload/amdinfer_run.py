"""Run the stand-in amdinfer-server (tests/workload/standins/amdinfer) and talk to it.

The model repository it serves holds the echo entry exactly as the proteus-server
rock ships it (rocks/proteus-server/repository/echo/config.toml), with a
placeholder `1/libecho.so` where the rock installs the library its build makes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
STANDINS = ROOT / "tests" / "workload" / "standins"
ECHO_ENTRY = ROOT / "rocks" / "proteus-server" / "repository" / "echo"
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
    """A model repository with the rock's echo entry under each name (config name = entry)."""
    for name in entries:
        entry = path / name
        (entry / "1").mkdir(parents=True)
        config = (ECHO_ENTRY / "config.toml").read_text()
        (entry / "config.toml").write_text(config.replace('name = "echo"', f'name = "{name}"', 1))
        (entry / "1" / "libecho.so").write_bytes(b"placeholder for the library the rock builds")
    return path


def standin_environment(home: Path) -> dict[str, str]:
    """The environment of this process, with HOME set and the stand-in importable."""
    python_path = os.pathsep.join(filter(None, [str(STANDINS), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "HOME": str(home), "PYTHONPATH": python_path}


def standin_command(arguments: Sequence[str]) -> list[str]:
    """`amdinfer-server <arguments>` as the stand-in."""
    return [sys.executable, "-m", "amdinfer", *arguments]


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
class Standin:
    """A running stand-in server."""

    process: subprocess.Popen[bytes]
    url: str
    home: Path
    repository: Path

    @property
    def log_dir(self) -> Path:
        """Where it writes server.log and drogon.log."""
        return self.home / ".amdinfer" / "logs"

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
def running_standin(
    workdir: Path, arguments: Sequence[str] = ("--repository-monitoring",)
) -> Generator[Standin]:
    """Start the stand-in in workdir (HOME workdir/home, repository workdir/models)."""
    home, repository = workdir / "home", workdir / "models"
    home.mkdir(parents=True, exist_ok=True)
    if not repository.exists():
        make_repository(repository)
    port = free_port()
    argv = ["--model-repository", str(repository), "--http-port", str(port), *arguments]
    process = subprocess.Popen(
        standin_command([*argv, "--grpc-port", str(free_port())]),
        cwd=workdir,
        env=standin_environment(home),
    )
    server = Standin(process, f"http://127.0.0.1:{port}", home, repository)
    try:
        wait_until(
            lambda: process.poll() is not None or server.get("/v2/health/live").status == 200,
            START_TIMEOUT_S,
            "the stand-in answers /v2/health/live",
        )
        assert process.poll() is None, f"the stand-in exited with {process.returncode}"
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
