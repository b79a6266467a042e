"""Running a model server on this machine: its command, where it listens, its model's client."""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.processes import stop_group_leader
from model_server_charm.config import JUJU_POD_PORTS
from model_server_charm.families.kserve_python.family import (
    METRICS_DIR,
    QUIET_LOG_CONFIG,
    REQUESTS_LOG_CONFIG,
    SERVER_ERROR_FILE,
    infer_path,
    ready_path,
)
from model_server_charm.runtimes import RUNTIMES, Protocol
from model_server_charm.server_client import ModelServerClient, ServerAnswer

REPO_ROOT = Path(__file__).resolve().parent.parent
ROCK_COMMON = REPO_ROOT / "rocks" / "common"
STANDINS = REPO_ROOT / "tests" / "workload" / "standins"
# Variables that change how a server runs: each command gets only the ones it sets itself.
TUNING_VARIABLES = (
    "PYTHONWARNINGS",
    "PROMETHEUS_MULTIPROC_DIR",
    "prometheus_multiproc_dir",
    "KSERVE_LAUNCHER_ERROR_FILE",
    "PREDICT_PROBA",
    "KSERVE_LAUNCHER_JOBLIB_SEQUENTIAL",
)
STOP_TIMEOUT_S = 30
ORIGIN_TIMEOUT_S = 60
# Run by the server's own interpreter, in its environment and directory: where it imports from.
FIND_MODULE = (
    "import importlib.util, sys; spec = importlib.util.find_spec(sys.argv[1]);"
    " print(spec.origin if spec else '')"
)
# A kserve checkout's python/ directory: run the real upstream servers from it.
KSERVE_PYTHON_DIR_ENV = "KSERVE_PYTHON_DIR"
# The KServe Python servers, each a directory of that checkout holding its package
# (predictiveserver imports three others).
LIVE_PATH = "/v2/health/live"
KSERVE_SERVER_MODULES = sorted(
    {runtime.server_module for runtime in RUNTIMES.values() if runtime.family == "kserve-python"}
)


def free_port() -> int:
    """Ask the kernel for a loopback port nobody listens on, and the charm accepts.

    The kernel's ephemeral range holds the ports of Juju's pod, which the charm refuses
    as `http-port`/`grpc-port` (config.JUJU_POD_PORTS): those are asked for again.
    """
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port not in JUJU_POD_PORTS:
            return port


class ServerStartError(RuntimeError):
    """A server exited or did not get its model ready in time."""


@dataclass(frozen=True)
class Command:
    """One way of starting the server: what to run and the environment it adds."""

    label: str
    argv: tuple[str, ...]
    environment: Mapping[str, str] = field(default_factory=dict[str, str])
    # The server's worker processes (the bench's accounting: memory per worker).
    workers: int = 1
    # Whether the server's /metrics sums the resident memory of its whole process tree
    # (the launcher's process_resident_memory_bytes); else the bench reads /proc only.
    tree_memory_metric: bool = False
    # Where it runs (None: the bench's directory).
    cwd: Path | None = None
    # What to POST once the server answers, before its model can be ready (a model load).
    load_paths: tuple[str, ...] = ()

    def __str__(self) -> str:
        variables = [f"{name}={value}" for name, value in sorted(self.environment.items())]
        return shlex.join([*variables, *self.argv])


@dataclass(frozen=True)
class Endpoint:
    """Where a benchmarked server listens and which model it serves."""

    model_name: str
    model_dir: Path
    http_port: int
    grpc_port: int

    @property
    def base_url(self) -> str:
        """Loopback only: the bench never talks to another address."""
        return f"http://127.0.0.1:{self.http_port}"


def rock_paths_on_host(scratch: Path) -> dict[str, str]:
    """Map each path the charm's command names inside the rock to its place on this machine.

    The rock installs `rocks/common` files under /etc/kserve; the per-server
    state directories, and the caches the runtimes keep under /tmp (Hugging
    Face's, vLLM's), go to the bench's scratch directory so that a run leaves
    nothing behind and never touches another server's files; the rock's Java
    runtime is this machine's.
    """
    caches = {
        value: str(scratch / Path(value).name)
        for runtime in RUNTIMES.values()
        for value in runtime.environment.values()
        if value.startswith("/tmp/")
    }
    return {
        QUIET_LOG_CONFIG: str(ROCK_COMMON / Path(QUIET_LOG_CONFIG).name),
        REQUESTS_LOG_CONFIG: str(ROCK_COMMON / Path(REQUESTS_LOG_CONFIG).name),
        METRICS_DIR: str(scratch / Path(METRICS_DIR).name),
        SERVER_ERROR_FILE: str(scratch / Path(SERVER_ERROR_FILE).name),
        **caches,
        **_java_home_on_host(),
    }


def _java_home_on_host() -> dict[str, str]:
    """Each runtime's JAVA_HOME in its rock -> the Java runtime `java` on PATH runs."""
    java = shutil.which("java")
    if java is None:  # no Java here: the pmml tests skip and the bench refuses pmml
        return {}
    host_java_home = str(Path(java).resolve().parents[1])
    return {
        runtime.environment["JAVA_HOME"]: host_java_home
        for runtime in RUNTIMES.values()
        if "JAVA_HOME" in runtime.environment
    }


def to_host(value: str, paths: Mapping[str, str]) -> str:
    """Rewrite a rock path, whole or as the value of `--flag=<path>`, to its host path."""
    if value in paths:
        return paths[value]
    flag, equals, path = value.partition("=")
    if equals and path in paths:
        return f"{flag}={paths[path]}"
    return value


def server_base_environment() -> dict[str, str]:
    """Build this process's environment without tuning variables, able to import the servers.

    The launcher always comes from this repository. The servers are, in order:
    upstream's from a kserve checkout (KSERVE_PYTHON_DIR=<checkout>/python,
    where each server is a directory of its own), the installed upstream ones
    when all are installed, else the workload tests' stand-ins.
    """
    environment = {
        name: value for name, value in os.environ.items() if name not in TUNING_VARIABLES
    }
    # Bytecode is what makes kserve's spawned workers start within its 5 s ping.
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    paths = [str(ROCK_COMMON)]
    checkout = os.environ.get(KSERVE_PYTHON_DIR_ENV)
    if checkout:
        paths += [str(Path(checkout) / module) for module in KSERVE_SERVER_MODULES]
    elif any(importlib.util.find_spec(module) is None for module in KSERVE_SERVER_MODULES):
        paths.append(str(STANDINS))
    if environment.get("PYTHONPATH"):
        paths.append(environment["PYTHONPATH"])
    environment["PYTHONPATH"] = os.pathsep.join(paths)
    return environment


def imported_from(pid: int, module: str) -> str:
    """The file the running process `pid` imports `module` from.

    Asked of the process itself: its own interpreter (/proc/<pid>/exe), run with
    its environment and in its working directory, resolves the module as the
    process did when it started, so a server that imported another copy shows it.
    """
    process = Path("/proc") / str(pid)
    environment = dict(
        entry.split("=", 1)
        for entry in (process / "environ").read_bytes().decode(errors="replace").split("\0")
        if "=" in entry
    )
    completed = subprocess.run(
        [os.readlink(process / "exe"), "-c", FIND_MODULE, module],
        env=environment,
        cwd=os.readlink(process / "cwd"),
        capture_output=True,
        text=True,
        timeout=ORIGIN_TIMEOUT_S,
        check=False,
    )
    return completed.stdout.strip() or f"nowhere: {completed.stderr.strip()[-300:]}"


def origin_kind(path: str) -> str:
    """Whose server a module file is: upstream's checkout, the stand-ins, or an installed one."""
    checkout = os.environ.get(KSERVE_PYTHON_DIR_ENV)
    if checkout and Path(path).is_relative_to(Path(checkout).resolve()):
        return f"upstream's own server ({KSERVE_PYTHON_DIR_ENV})"
    if Path(path).is_relative_to(STANDINS):
        return "the workload tests' stand-in"
    return "installed"


class ServedModel(ModelServerClient):
    """A KServe server's one model, called at the paths the charm calls it at."""

    def __init__(self, base_url: str, model_name: str, timeout: float = 30):
        super().__init__(base_url, timeout)
        self.model_name = model_name

    @classmethod
    def at(cls, port: int, model_name: str, timeout: float = 30) -> ServedModel:
        """The model of a server on this machine's loopback."""
        return cls(f"http://127.0.0.1:{port}", model_name, timeout)

    def infer_path(self, protocol: Protocol) -> str:
        """Where a request of this protocol goes."""
        return infer_path(self.model_name, protocol)

    def infer(self, protocol: Protocol, body: bytes) -> ServerAnswer:
        """Send one inference request; the answer, whatever its status."""
        return self.post(self.infer_path(protocol), body)

    def model_ready(self) -> bool:
        """Whether the model is loaded and answers."""
        return self.answers(ready_path(self.model_name))


@dataclass(frozen=True)
class RunningServer:
    """A started server whose model is ready."""

    pid: int
    client: ServedModel


@contextmanager
def running(
    command: Command, endpoint: Endpoint, log_path: Path, ready_timeout_s: float
) -> Generator[RunningServer, None, None]:
    """Start the server, wait until its model is ready, and stop it (and its workers) after."""
    environment = {**server_base_environment(), **command.environment}
    client = ServedModel.at(endpoint.http_port, endpoint.model_name, timeout=2)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command.argv,
            env=environment,
            cwd=command.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers are stopped with it
        )
        try:
            _wait_ready(process, client, ready_timeout_s, command, log_path)
            yield RunningServer(process.pid, client)
        finally:
            stop_group_leader(process, STOP_TIMEOUT_S)


def _wait_ready(
    process: subprocess.Popen[bytes],
    client: ServedModel,
    timeout_s: float,
    command: Command,
    log_path: Path,
) -> None:
    deadline = time.monotonic() + timeout_s
    loaded = not command.load_paths
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(
                f"{command.label}: the server exited with status {process.returncode}\n"
                f"  command: {command}\n{_tail(log_path)}"
            )
        if not loaded and client.answers(LIVE_PATH):
            _load(client, command)
            loaded = True
        if loaded and client.model_ready():
            return
        time.sleep(0.2)
    raise ServerStartError(
        f"{command.label}: the model was not ready after {timeout_s:.0f} s\n"
        f"  command: {command}\n{_tail(log_path)}"
    )


def _load(client: ServedModel, command: Command) -> None:
    """POST the command's model loads; a refused one stops the bench with the server's reason."""
    for path in command.load_paths:
        answer = client.post(path, b"{}")
        if not answer.ok:
            raise ServerStartError(f"{command.label}: POST {path}: {answer.status} {answer.body}")


def _tail(log_path: Path, lines: int = 20) -> str:
    text = log_path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(f"  | {line}" for line in text)
