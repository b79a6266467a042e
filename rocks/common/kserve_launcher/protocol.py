"""What the launcher's first process and the server processes it starts tell each other.

The first process passes, in the environment of each server process it starts:

* ``KSERVE_LAUNCHER_ROOT_PID``: its own pid, the root of the tree /metrics sums;
* ``KSERVE_LAUNCHER_STATUS_FD``: the write end of a pipe on which the server
  process reports, one line each, that it serves (``serving``) or why it
  failed (``failed <reason>``); the model download process reports where the
  model is (``model-dir <path>``, ``kserve_launcher.model_download``);
* ``KSERVE_LAUNCHER_HTTP_CHANNEL`` and ``KSERVE_LAUNCHER_HTTP_PORT`` (only when
  each worker loads its own model): a Unix socket on which the first process
  hands the server process the connections it accepted on the HTTP port
  (``kserve_launcher.dealer``), and that port, which the server process then
  does not bind itself (``kserve_launcher.shared_port``).

Only the standard library here: the first process never imports kserve.
"""

from __future__ import annotations

import os

ROOT_PID_ENV = "KSERVE_LAUNCHER_ROOT_PID"
STATUS_FD_ENV = "KSERVE_LAUNCHER_STATUS_FD"
HTTP_CHANNEL_ENV = "KSERVE_LAUNCHER_HTTP_CHANNEL"
HTTP_PORT_ENV = "KSERVE_LAUNCHER_HTTP_PORT"

SERVING = "serving"
FAILED = "failed"
MODEL_DIR = "model-dir"
# A reason longer than this is cut: it ends in the charm's status, itself bounded.
MAX_REASON_CHARACTERS = 2000


class StatusPipe:
    """A server process's side of the status pipe (nothing is sent when run alone)."""

    def __init__(self, descriptor: int | None) -> None:
        self.descriptor = descriptor

    @classmethod
    def claim(cls) -> StatusPipe:
        """Take the pipe from the environment, so that no process this one starts writes to it."""
        descriptor = os.environ.pop(STATUS_FD_ENV, None)
        return cls(int(descriptor) if descriptor and descriptor.isdigit() else None)

    def report(self, line: str) -> None:
        """Tell the first process something, on one line."""
        if self.descriptor is None:
            return
        message = " ".join(line.split())[:MAX_REASON_CHARACTERS] + "\n"
        try:
            os.write(self.descriptor, message.encode(errors="replace"))
        except OSError:
            return  # the first process is gone: nobody to tell

    def report_failure(self, reason: str) -> None:
        """Tell the first process why this server process fails."""
        self.report(f"{FAILED} {reason}")
