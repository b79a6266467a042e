"""The files amdinfer-server writes besides its answers, in the same places and ways.

- `$HOME/.amdinfer/logs/server.log` (`./logs/server.log` without HOME): spdlog's
  basic file sink, truncated at start (opened "wb", closed, reopened "ab", so a
  FIFO or a device there works as well as a file), one flushed line per request
  in spdlog's default pattern, never rotated.
- `drogon.log` in the same directory: the HTTP framework's warnings and errors
  (here: the exceptions that escape a handler, in trantor's line format as near
  as the stand-in knows it), renamed to `drogon.<yymmdd-HHMMSS>.<n>.log` when
  the server stops cleanly.
- `./uploads`, created by drogon in the working directory.
"""

from __future__ import annotations

import datetime
import os
import threading
from pathlib import Path

SERVER_LOG = "server.log"
DROGON_LOG = "drogon.log"
UPLOADS = "uploads"


def log_directory() -> Path:
    """Where amdinfer writes its logs (getLogDirectory)."""
    home = os.environ.get("HOME")
    return Path(home) / ".amdinfer" / "logs" if home is not None else Path("logs")


def _timestamp() -> str:
    now = datetime.datetime.now()
    return now.strftime("%Y-%m-%d %H:%M:%S.") + f"{now.microsecond // 1000:03d}"


class ServerLogs:
    """The server's log files, open for the life of the server."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        Path(UPLOADS).mkdir(exist_ok=True)
        self.directory = directory
        self._lock = threading.Lock()
        server_log = directory / SERVER_LOG
        with server_log.open("wb"):
            pass  # spdlog truncates by opening and closing the file once
        self._server_log = server_log.open("ab", buffering=0)
        self._started = datetime.datetime.now()
        self._drogon_log = (directory / DROGON_LOG).open("a")

    def info(self, message: str) -> None:
        """One line, flushed at once (spdlog flush_on info)."""
        line = f"[{_timestamp()}] [server] [info] {message}\n".encode()
        with self._lock:
            self._server_log.write(line)

    def drogon_error(self, message: str) -> None:
        """An ERROR line in drogon's log (an exception drogon caught for a handler)."""
        now = datetime.datetime.now(datetime.timezone.utc)
        line = f"{now:%Y%m%d %H:%M:%S.%f} UTC {threading.get_native_id()} ERROR {message}\n"
        with self._lock:
            self._drogon_log.write(line)
            self._drogon_log.flush()

    def close(self) -> None:
        """Close the files as a clean shutdown does, keeping drogon's log under a dated name."""
        self._server_log.close()
        self._drogon_log.close()
        stamp = self._started.strftime("%y%m%d-%H%M%S")
        drogon_log = self.directory / DROGON_LOG
        if drogon_log.exists():
            drogon_log.rename(self.directory / f"drogon.{stamp}.000000.log")
