"""The model repository: loading entries on request, at start, and as configs come and go.

amdinfer v0.4.0 watches the repository with efsw (inotify): a configuration
file added under `<repo>/<model>/` loads `<model>` about 100 ms later (a model
that fails to load is only logged, never retried); a configuration file removed
unloads the endpoint named after the directory. Measured on the real server:
a directory moved into the repository with its configuration already inside
is not loaded (no file was added), and from then on directories created in
the repository are not followed any more (configurations added or removed in
the directories it already followed still are). A configuration written
within moments of its new directory is missed too (efsw adds the new
directory's watch late; so are entries written in quick succession): the
stand-in does not reproduce that race. Errors
that are not amdinfer's own abort the server: at start, an invalid TOML file
or a worker that cannot be created (an `xmodel` entry on a build without
Vitis); while watching, an invalid TOML file (a worker that cannot be created
is then silently skipped). The stand-in polls,
every POLL_INTERVAL_S, and tells a directory moved in from one created in place
by its configuration being older than the directory's last change.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from amdinfer.config import find_config, read_entry
from amdinfer.endpoints import Endpoints
from amdinfer.errors import ConfigParseError, EscapedError, FatalInputError, RequestError, die

POLL_INTERVAL_S = 0.5
SETTLE_DELAY_S = 0.1


class Repository:
    """`<repository>/<model>` entries, loaded into `endpoints`."""

    def __init__(self, path: Path, endpoints: Endpoints, log: Callable[[str, str], None]) -> None:
        """`log(source, message)` writes an info line of the server's log."""
        self.path = path
        self._endpoints = endpoints
        self._log = log
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def load(
        self, model: str, version: str = "", parameters: Mapping[str, Any] | None = None
    ) -> str:
        """Load one entry (request parameters first, the entry's own on top); its endpoint."""
        entry = read_entry(self.path, model, version)
        return self._endpoints.load(entry.endpoint, {**(parameters or {}), **entry.parameters})

    def unload(self, model: str, version: str = "") -> None:
        """Unload the endpoint of a model directory (and version)."""
        self._endpoints.unload(f"{model}_{version}" if version else model)

    def load_existing(self) -> None:
        """Load every entry the repository holds now; log the ones that fail."""
        for model in sorted(self._configured()):
            try:
                self.load(model)
            except RequestError as error:
                self._log("model_repository.cpp:162", f"Error loading {model}: {error}")
            except EscapedError as error:  # only amdinfer's own exceptions are caught here
                die(FatalInputError(signal.SIGABRT, f"loading {model}: {error}"))

    def start_monitoring(self) -> None:
        """Follow configuration files appearing and disappearing, in a background thread."""
        self._watcher = threading.Thread(target=self._watch, name="repository", daemon=True)
        self._watcher.start()

    def stop_monitoring(self) -> None:
        """Stop following the repository."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()

    def _configured(self) -> dict[str, Path]:
        """Each configured entry's directory name, with its configuration file."""
        found = self._directories()
        return {model: config for model, config in found.items() if config is not None}

    def _directories(self) -> dict[str, Path | None]:
        """Each directory of the repository, with its configuration file if it has one."""
        if not self.path.is_dir():
            return {}
        return {entry.name: find_config(entry) for entry in self.path.iterdir() if entry.is_dir()}

    def _try_load(self, model: str) -> None:
        """Load an entry whose configuration appeared, as the watcher does."""
        try:
            self.load(model)
        except RequestError:
            self._log("model_repository.cpp:197", f"Error loading {model}")
        except ConfigParseError as error:  # thrown in the watcher's thread: terminate
            die(FatalInputError(signal.SIGABRT, f"parsing {model}'s configuration: {error}"))
        except EscapedError:
            pass  # a worker that cannot be created: measured silent, the server goes on

    def _watch(self) -> None:
        followed = self._directories()  # directory -> its configuration when last seen
        following_new = True
        while not self._stop.wait(POLL_INTERVAL_S):
            current = self._directories()
            for model in sorted(current.keys() - followed.keys()):
                if _moved_in(self.path / model, current[model]):
                    following_new = False
                    followed[model] = current[model]  # followed, but nothing was added
                elif following_new:
                    followed[model] = None  # its configuration, if any, is new
            for model in sorted(followed.keys() & current.keys()):
                if current[model] is not None and followed[model] is None:
                    self._stop.wait(SETTLE_DELAY_S)
                    self._try_load(model)
                elif current[model] is None and followed[model] is not None:
                    self.unload(model)
                followed[model] = current[model]
            for model in sorted(followed.keys() - current.keys()):
                if followed.pop(model) is not None:
                    self.unload(model)


def _moved_in(directory: Path, config: Path | None) -> bool:
    """Whether the directory arrived with its configuration (a rename, not files written)."""
    try:
        return config is not None and config.stat().st_ctime_ns < directory.stat().st_ctime_ns
    except FileNotFoundError:  # gone again meanwhile
        return False
