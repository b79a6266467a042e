"""The files amdinfer-server writes besides its answers, in the same places and ways.

- `$HOME/.amdinfer/logs/server.log` (`./logs/server.log` without HOME): spdlog's
  basic file sink, truncated at start (opened "wb", closed, reopened "ab", so a
  FIFO or a device there works as well as a file), one flushed line per event in
  amdinfer's pattern `[time] [server] [level] [source file:line] message`: an
  infer on echo writes three (the request, then each worker of the chain: the
  model's `CPlusPlus` and the `responder`), never rotated.
- `drogon.log` in the same directory: the HTTP framework's errors, in trantor's
  line format, created at its first line; when the server stops (cleanly, or
  because the HTTP port is taken) it is renamed `drogon.<yymmdd-HHMMSS>.000000.log`,
  the time it was created.
- `./uploads`, created by drogon in the working directory.
"""

from __future__ import annotations

import datetime
import os
import threading
from pathlib import Path
from typing import TextIO

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
        self._drogon_log: TextIO | None = None
        self._drogon_created = datetime.datetime.now()

    def info(self, source: str, message: str) -> None:
        """One info line from amdinfer's `source` (file:line), flushed at once."""
        self._server_line("info", source, message)

    def error(self, source: str, message: str) -> None:
        """One error line from amdinfer's `source` (file:line), flushed at once."""
        self._server_line("error", source, message)

    def _server_line(self, level: str, source: str, message: str) -> None:
        line = f"[{_timestamp()}] [server] [{level}] [{source}] {message}\n".encode()
        with self._lock:
            self._server_log.write(line)

    def drogon(self, level: str, message: str, source: str) -> None:
        """A line in drogon's log (trantor's format: UTC time, thread, level, text, source)."""
        now = datetime.datetime.now(datetime.timezone.utc)
        line = f"{now:%Y%m%d %H:%M:%S.%f} UTC {threading.get_native_id()} {level} {message}"
        with self._lock:
            if self._drogon_log is None:
                self._drogon_log = (self.directory / DROGON_LOG).open("a")
                self._drogon_created = datetime.datetime.now()
            self._drogon_log.write(f"{line} - {source}\n")
            self._drogon_log.flush()

    def close(self) -> None:
        """Close the files as the server does when it ends, drogon's under a dated name."""
        self._server_log.close()
        if self._drogon_log is not None:
            self._drogon_log.close()
            stamp = self._drogon_created.strftime("%y%m%d-%H%M%S")
            (self.directory / DROGON_LOG).rename(self.directory / f"drogon.{stamp}.000000.log")
