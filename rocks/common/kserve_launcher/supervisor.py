"""The launcher's first process: it starts the server processes, watches them and ends them all.

Standard library only: this process never imports kserve or a framework.

* It starts one server process (kserve then runs its own workers) or, when
  each worker loads its own model, one per worker (``kserve_launcher.server``).
  Before those, a remote model's download process runs the same way
  (``kserve_launcher.model_download``).
  They stay in the launcher's process group, so Pebble's signals to the group
  reach them all, as before. A stop signal the launcher receives (SIGTERM,
  SIGINT, SIGHUP, SIGQUIT) is also passed on to each as SIGTERM, for when it
  was sent to the launcher alone (a container's first process, ``kill <pid>``):
  kserve and uvicorn take a second SIGTERM as the same request to stop.
* It passes their standard error on to its own, keeping each process's last
  error line (``kserve_launcher.last_error``); standard output is theirs.
* It is the "child subreaper" of everything below it: a process whose parent
  dies (the JVM of pmmlserver's Py4J gateway, a kserve worker) is re-parented
  to it rather than to init. Such an orphan is terminated when a server
  process ends, and when the server ends, whatever is left below the launcher
  is terminated, then killed: no process outlives the server.
* A worker that loads its own model and ends before it serves fails the
  server (the others are stopped); one that served and then ends is started
  again, as kserve does with its own workers. Those workers' HTTP port is held
  here: its connections are dealt to the serving workers in turn
  (``kserve_launcher.dealer``), and a stop signal closes it at once.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from kserve_launcher.dealer import ConnectionDealer
from kserve_launcher.last_error import LastError
from kserve_launcher.process_tree import (
    become_subreaper,
    children_by_parent,
    describe,
    end_leftovers,
    launcher_exit_status,
    signal_process,
)
from kserve_launcher.protocol import (
    FAILED,
    HTTP_CHANNEL_ENV,
    HTTP_PORT_ENV,
    MODEL_DIR,
    SERVING,
    STATUS_FD_ENV,
)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
READ_BYTES = 65536
# When one worker failed: how long the others have to stop before they are killed.
FAILED_STOP_GRACE_S = 10.0


@dataclass
class ServerProcess:
    """One server process: what it runs, what it said, how it ended."""

    index: int
    argv: list[str]
    process: subprocess.Popen[bytes]
    status_read: int
    errors: LastError = field(default_factory=LastError)
    reason: str = ""
    model_dir: str = ""
    serving: bool = False
    exit_code: int | None = None
    status_rest: bytes = b""

    @property
    def stderr_read(self) -> int:
        """The read end of its standard error."""
        assert self.process.stderr is not None
        return self.process.stderr.fileno()


class Supervisor:
    """Runs one server process per argv until all have ended; `run` gives the exit status."""

    def __init__(
        self, label: str, argvs: Sequence[list[str]], http_socket: socket.socket | None = None
    ):
        self.label = label
        self.argvs = list(argvs)
        self.selector = selectors.DefaultSelector()
        # Workers that load their own model: the first process deals the HTTP port's connections.
        self.dealer = None if http_socket is None else ConnectionDealer(http_socket, self.selector)
        self.servers: list[ServerProcess] = []
        self.stopping = False
        self.failure = ""
        self.exit_status = 0
        self.kill_at: float | None = None

    def run(self) -> int:
        """Start every server process, pass their output on, and supervise them to the end."""
        become_subreaper()
        wake_read, wake_write = os.pipe()
        for descriptor in (wake_read, wake_write):
            os.set_blocking(descriptor, False)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, _wake)
        for number in STOP_SIGNALS:
            signal.signal(number, self._on_stop_signal)
        self.selector.register(wake_read, selectors.EVENT_READ, None)
        self.servers = [self._start(index, argv) for index, argv in enumerate(self.argvs)]
        if self.stopping:  # told to stop while they started
            self._on_stop_signal(signal.SIGTERM, None)
        while self._running():
            timeout = None if self.kill_at is None else max(0.0, self.kill_at - time.monotonic())
            for key, _ in self.selector.select(timeout):
                if key.data is None:
                    _drain(wake_read)
                elif isinstance(key.data, ConnectionDealer):
                    key.data.deal()
                else:
                    self._read(*key.data)
            self._reap()
            if self.kill_at is not None and time.monotonic() >= self.kill_at:
                for server in self._running():
                    signal_process(server.process.pid, signal.SIGKILL)
        end_leftovers()
        return self.exit_status

    def _running(self) -> list[ServerProcess]:
        return [server for server in self.servers if server.exit_code is None]

    def _start(self, index: int, argv: list[str]) -> ServerProcess:
        status_read, status_write = os.pipe()
        environment = {**os.environ, STATUS_FD_ENV: str(status_write)}
        kept = [status_write]
        if self.dealer is not None:
            channel = self.dealer.open_channel(index)
            environment[HTTP_CHANNEL_ENV] = str(channel.fileno())
            environment[HTTP_PORT_ENV] = str(self.dealer.port)
            kept.append(channel.detach())
        process = subprocess.Popen(argv, env=environment, stderr=subprocess.PIPE, pass_fds=kept)
        for descriptor in kept:
            os.close(descriptor)
        server = ServerProcess(index, argv, process, status_read)
        self.selector.register(server.stderr_read, selectors.EVENT_READ, (server, True))
        self.selector.register(status_read, selectors.EVENT_READ, (server, False))
        return server

    def _read(self, server: ServerProcess, is_stderr: bool) -> bool:
        """Take what a pipe holds; whether there was anything (False at its end, or for now)."""
        descriptor = server.stderr_read if is_stderr else server.status_read
        try:
            chunk = os.read(descriptor, READ_BYTES)
        except BlockingIOError:
            return False
        except OSError:
            chunk = b""
        if not chunk:
            self.selector.unregister(descriptor)
            if is_stderr:
                server.errors.finish()
            return False
        if is_stderr:
            server.errors.feed(chunk)
            _write_all(sys.stderr.fileno(), chunk)
            return True
        *lines, server.status_rest = (server.status_rest + chunk).split(b"\n")
        for line in lines:
            word, _, rest = line.decode(errors="replace").partition(" ")
            self._told(server, word, rest)
        return True

    def _told(self, server: ServerProcess, word: str, rest: str) -> None:
        """A line on `server`'s status pipe (`kserve_launcher.protocol`)."""
        if word == SERVING:
            server.serving = True
            if self.dealer is not None:
                self.dealer.worker_serves(server.index)
        elif word == FAILED:
            server.reason = rest
        elif word == MODEL_DIR:
            server.model_dir = rest

    def _reap(self) -> None:
        """Collect every ended child: server processes, and orphans re-parented here."""
        while True:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for server in self._running():
                if server.process.pid == pid:
                    server.exit_code = server.process.returncode = os.waitstatus_to_exitcode(
                        wait_status
                    )
                    self._ended(server)

    def _ended(self, server: ServerProcess) -> None:
        if self.dealer is not None:
            self.dealer.close_channel(server.index)
        # Not waiting for the pipes' end: processes it started may still hold them.
        for is_stderr in (False, True):
            descriptor = server.stderr_read if is_stderr else server.status_read
            if descriptor in self.selector.get_map():
                os.set_blocking(descriptor, False)
                while self._read(server, is_stderr):
                    pass
        self._end_orphans()
        if self.stopping or self.failure:
            return
        if server.serving and len(self.servers) > 1:
            print(
                f"kserve_launcher: {self.label} worker {server.index + 1} of"
                f" {len(self.servers)} (pid {server.process.pid}) {describe(server.exit_code)}"
                " after serving; starting another",
                file=sys.stderr,
                flush=True,
            )
            self._close(server)
            self.servers[server.index] = self._start(server.index, server.argv)
        elif server.exit_code != 0 or len(self.servers) > 1:
            self.failure = self._reason(server)
            self.exit_status = launcher_exit_status(server.exit_code)
            for other in self._running():
                signal_process(other.process.pid, signal.SIGTERM)
            self.kill_at = time.monotonic() + FAILED_STOP_GRACE_S

    def _reason(self, server: ServerProcess) -> str:
        reason = server.reason
        if not reason:
            reason = f"{self.label} {describe(server.exit_code)}"
            if server.errors.line:
                reason += f": {server.errors.line}"
        if len(self.servers) > 1:
            reason += f" (worker {server.index + 1} of {len(self.servers)})"
        return reason

    def _end_orphans(self) -> None:
        """Terminate the processes re-parented here: their parent, a server process, ended."""
        servers = {server.process.pid for server in self._running()}
        for pid in children_by_parent().get(os.getpid(), []):
            if pid not in servers:
                signal_process(pid, signal.SIGTERM)

    def _close(self, server: ServerProcess) -> None:
        for descriptor in (server.status_read, server.stderr_read):
            if descriptor in self.selector.get_map():
                self.selector.unregister(descriptor)
        os.close(server.status_read)
        assert server.process.stderr is not None
        server.process.stderr.close()

    def _on_stop_signal(self, number: int, _frame: object) -> None:
        self.stopping = True
        if self.dealer is not None:
            self.dealer.stop()
        for server in self._running():
            signal_process(server.process.pid, signal.SIGTERM)


def _wake(_number: int, _frame: object) -> None:
    """Nothing: the signal's byte on the wake-up pipe is what ends the select."""


def _drain(descriptor: int) -> None:
    """Empty the wake-up pipe (non-blocking: it ends when nothing is left)."""
    try:
        while os.read(descriptor, READ_BYTES):
            pass
    except BlockingIOError:
        return


def _write_all(descriptor: int, data: bytes) -> None:
    """Pass output on; a closed or failing stream loses it rather than stopping the server."""
    while data:
        try:
            written = os.write(descriptor, data)
        except OSError:
            return
        data = data[written:]
