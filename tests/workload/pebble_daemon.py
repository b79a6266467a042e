"""The real Pebble daemon, run for a test: `pebble run` (or `enter`) on a private directory.

The daemon listens on the unix socket in its `$PEBBLE` directory only (no
`--http`), is driven through `ops.pebble.Client`, and is always stopped
afterwards with every service process group it started. Every wait is
bounded. `scripts/install_pebble.sh` installs the pinned binary (tox's
workload environment runs it and sets PEBBLE_BIN).
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ops import pebble

from bench.processes import kill_group, stop_group_leader
from bench.servers import REPO_ROOT

PEBBLE_BIN_ENV = "PEBBLE_BIN"
DEFAULT_PEBBLE_BIN = REPO_ROOT / "build" / "bin" / "pebble"
START_TIMEOUT_S = 15.0
# Pebble stops each service with SIGTERM, then SIGKILL after its kill-delay (5 s).
STOP_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 0.2
# Pebble's API socket, in its $PEBBLE directory.
SOCKET_NAME = ".pebble.socket"
# `name{label="value"} 3` lines of Pebble's /v1/metrics (OpenMetrics text).
METRIC_LINE = re.compile(r'^(\w+)\{\w+="([^"]*)"\} (\d+)$', re.MULTILINE)


def pebble_binary_path() -> Path:
    """Where the Pebble binary is: $PEBBLE_BIN, else build/bin/pebble."""
    return Path(os.environ.get(PEBBLE_BIN_ENV) or DEFAULT_PEBBLE_BIN)


def wait_until(condition: Callable[[], bool], timeout_s: float, waiting_for: str) -> None:
    """Poll `condition` until it holds; fail naming what did not happen within the time."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{waiting_for}: not within {timeout_s:.0f} s")
        time.sleep(POLL_INTERVAL_S)


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is `pid`: the `children` of each of its threads in /proc."""
    tasks = Path(f"/proc/{pid}/task")
    children: list[int] = []
    for task in tasks.iterdir() if tasks.exists() else ():
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue  # a thread that ended meanwhile
    return children


def process_uid(pid: int) -> int:
    """The real uid of a process (`Uid:` in /proc/<pid>/status)."""
    status = Path(f"/proc/{pid}/status").read_text()
    (line,) = [line for line in status.splitlines() if line.startswith("Uid:")]
    return int(line.split()[1])


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over Pebble's unix socket, for the one endpoint ops' client does not wrap."""

    def __init__(self, socket_path: str) -> None:
        super().__init__("localhost", timeout=5)
        self.socket_path = socket_path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


@dataclass(frozen=True)
class PebbleDaemon:
    """A running Pebble daemon and an ops client connected to it."""

    process: subprocess.Popen[bytes]
    pebble_dir: Path
    log_path: Path
    client: pebble.Client

    @property
    def socket_path(self) -> str:
        """Where Pebble listens."""
        return str(self.pebble_dir / SOCKET_NAME)

    def healthy(self, level: str = "ready") -> bool:
        """Pebble's health at `level` (/v1/health), what Juju's probes of the container read."""
        connection = _UnixConnection(self.socket_path)
        try:
            connection.request("GET", f"/v1/health?level={level}")
            return connection.getresponse().status == 200
        finally:
            connection.close()

    def metrics(self) -> dict[tuple[str, str], int]:
        """Pebble's own counters (/v1/metrics), by (metric, service or check name).

        Among them `pebble_service_start_count`, `pebble_check_success_count`
        and `pebble_check_failure_count`: how often a service was started and
        how often a check ran and passed or failed.
        """
        connection = _UnixConnection(self.socket_path)
        try:
            connection.request("GET", "/v1/metrics")
            answer = connection.getresponse()
            text = answer.read().decode()
        finally:
            connection.close()
        if answer.status != 200:
            raise RuntimeError(f"Pebble /v1/metrics answered {answer.status}: {text}")
        return {(name, label): int(value) for name, label, value in METRIC_LINE.findall(text)}

    def service_pid(self) -> int:
        """The pid of the one service process Pebble runs now (its process group's leader)."""
        children = child_pids(self.process.pid)
        if len(children) != 1:
            raise RuntimeError(f"Pebble runs {len(children)} processes, not one: {children}")
        return children[0]

    def wait_until(
        self, condition: Callable[[], bool], timeout_s: float, waiting_for: str
    ) -> None:
        """`wait_until`, failing with the end of Pebble's log."""
        try:
            wait_until(condition, timeout_s, waiting_for)
        except TimeoutError as error:
            raise TimeoutError(f"{error}; Pebble's log ends:\n{self.log_tail()}") from error

    def log_tail(self, lines: int = 40) -> str:
        """The end of the daemon's output (with --verbose, the services' output too)."""
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(f"  | {line}" for line in text)


@contextmanager
def running_pebble(
    binary: Path,
    pebble_dir: Path,
    environment: Mapping[str, str],
    command: str = "run",
    service_arguments: Sequence[str] = (),
    hold: bool = False,
) -> Generator[PebbleDaemon]:
    """Start `pebble <command> --verbose` with PEBBLE=<pebble_dir>; stop it and its services after.

    `environment` is the daemon's, and so the services' (Pebble adds each
    service's own); the daemon's PATH is where Pebble finds `python3`.
    `service_arguments` (`<service> <argument>...`) go last, after `--args`,
    as a rock's entrypoint passes a container's arguments. `hold` starts no
    service, as Juju runs Pebble in a charm's workload container.
    """
    argv = [str(binary), command, "--verbose", *(["--hold"] if hold else [])]
    if service_arguments:
        argv += ["--args", *service_arguments]
    pebble_dir.mkdir(parents=True, exist_ok=True)
    log_path = pebble_dir.with_name(pebble_dir.name + ".log")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            env={**environment, "PEBBLE": str(pebble_dir)},
            cwd=pebble_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    daemon = PebbleDaemon(
        process=process,
        pebble_dir=pebble_dir,
        log_path=log_path,
        client=pebble.Client(socket_path=str(pebble_dir / SOCKET_NAME)),
    )
    try:
        wait_until(lambda: _answers(daemon), START_TIMEOUT_S, f"Pebble answering on {pebble_dir}")
        yield daemon
    finally:
        _stop(daemon)


def _answers(daemon: PebbleDaemon) -> bool:
    if daemon.process.poll() is not None:
        raise RuntimeError(
            f"Pebble exited with status {daemon.process.returncode}:\n{daemon.log_tail()}"
        )
    try:
        daemon.client.get_system_info()
    except (pebble.ConnectionError, pebble.APIError):
        return False
    return True


def _stop(daemon: PebbleDaemon) -> None:
    """Stop Pebble (which stops its services), then kill whatever of theirs is left."""
    service_groups = child_pids(daemon.process.pid)
    stop_group_leader(daemon.process, STOP_TIMEOUT_S)
    for group in service_groups:  # Pebble starts each service in a process group of its own
        kill_group(group)
