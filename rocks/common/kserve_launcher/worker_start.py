"""A start-up grace for kserve's worker processes, before its 5-second liveness ping applies.

kserve v0.20's multiprocess REST server (``kserve.protocol.rest.multiprocess.
server``) checks every spawned worker twice a second: ``RESTServerProcess.
is_alive`` sends "ping" on a pipe and waits 5 s for "pong", and a worker that
does not answer is killed and replaced. But a worker answers only once spawn
has re-imported the main module and unpickled the served model (kserve, the
framework), which on a busy node or under a low ``cpu`` limit takes longer
than 5 s: every new worker is killed in turn, and the server never serves
(seen on upstream's own xgbserver: eight kills at 5-second intervals, 50 s
before a worker served; on a starved CPU it never ends).

The launcher leaves upstream's code as it is and wraps ``is_alive`` in the
server's first process, where kserve runs that check: until a worker has
answered its first ping, the check sends one ping and then only looks for the
answer without waiting, and the worker counts as alive while its process runs
and the grace (``KSERVE_LAUNCHER_WORKER_START_GRACE`` seconds, 300 by default)
has not run out. Once it has answered, upstream's ping with its 5-second
timeout applies unchanged; a worker that never answers is still replaced,
after the grace. The parent's event loop no longer blocks for 5 s on each
starting worker either. ``KSERVE_LAUNCHER_WORKER_START_GRACE=0`` keeps
upstream's rule.

Either way, each worker kserve finds dead is reported on standard error
(kserve says it at INFO level, which the quiet log configuration hides), and
so is a first answer that came after kserve's own 5 s.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

GRACE_ENV = "KSERVE_LAUNCHER_WORKER_START_GRACE"
# kserve's own answer timeout (RESTServerProcess.is_alive's default).
UPSTREAM_PING_TIMEOUT_S = 5.0
DEFAULT_GRACE_S = 300.0
# The state the launcher keeps on each of kserve's RESTServerProcess objects.
WATCH_ATTRIBUTE = "_kserve_launcher_start"


class StartWatch:
    """One worker's first ping: sent once, then looked for without waiting."""

    def __init__(self) -> None:
        self.sent_at: float | None = None
        self.answered = False

    def alive(self, process: Any, connection: Any, grace_s: float) -> bool:
        """Whether the starting worker counts as alive now (True once it has answered)."""
        if not process.is_alive():
            return False
        if self.sent_at is None:
            connection.send(b"ping")
            self.sent_at = time.monotonic()
        waited = time.monotonic() - self.sent_at
        if connection.poll(0):
            connection.recv()
            self.answered = True
            if waited > UPSTREAM_PING_TIMEOUT_S:
                _say(
                    f"kserve worker {process.pid} answered its first liveness ping after"
                    f" {waited:.0f} s (kserve alone would have replaced it after"
                    f" {UPSTREAM_PING_TIMEOUT_S:.0f} s)"
                )
            return True
        return waited < grace_s


def start_grace() -> float:
    """The grace from the environment; upstream's rule (0) when it is not a number."""
    text = os.environ.get(GRACE_ENV, "")
    if not text:
        return DEFAULT_GRACE_S
    try:
        grace = float(text)
    except ValueError:
        _say(f"{GRACE_ENV}={text!r} is not a number: kserve's own rule applies")
        return 0.0
    return grace if grace > 0 else 0.0


def watch_worker_starts(grace_s: float) -> None:
    """Wrap kserve's worker liveness check with the start-up grace (in the server's process)."""
    from kserve.protocol.rest.multiprocess import server as multiprocess

    process_class = multiprocess.RESTServerProcess
    upstream_is_alive = process_class.is_alive

    def is_alive(self: Any, timeout: float = UPSTREAM_PING_TIMEOUT_S) -> bool:
        watch: StartWatch = self.__dict__.setdefault(WATCH_ATTRIBUTE, StartWatch())
        process = getattr(self, "_process", None)
        connection = getattr(self, "_parent_conn", None)
        if watch.answered or grace_s <= 0 or process is None or connection is None:
            alive = upstream_is_alive(self, timeout)
            watch.answered = watch.answered or alive
        else:
            alive = watch.alive(process, connection, grace_s)
        if not alive:
            state = "answered, then stopped answering" if watch.answered else "never answered"
            _say(f"kserve worker {self.pid} {state} its liveness ping; kserve replaces it")
        return alive

    process_class.is_alive = is_alive


def _say(message: str) -> None:
    print(f"kserve_launcher: {message}", file=sys.stderr, flush=True)
