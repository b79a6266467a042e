"""The model repository: loading entries on request, at start, and as configs come and go.

amdinfer v0.4.0 watches the repository with efsw (inotify): a configuration
file added under `<repo>/<model>/` loads `<model>` about 100 ms later (a model
that fails to load is only logged, never retried); a configuration file removed
unloads the endpoint named after the directory. The stand-in polls instead,
every POLL_INTERVAL_S, which is as prompt for the tests' purposes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from amdinfer.config import find_config, read_entry
from amdinfer.endpoints import Endpoints
from amdinfer.errors import EscapedError, RequestError

POLL_INTERVAL_S = 0.5
SETTLE_DELAY_S = 0.1


class Repository:
    """`<repository>/<model>` entries, loaded into `endpoints`."""

    def __init__(self, path: Path, endpoints: Endpoints, log: Callable[[str], None]) -> None:
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
            self._try_load(model)

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
        if not self.path.is_dir():
            return {}
        found = {entry.name: find_config(entry) for entry in self.path.iterdir() if entry.is_dir()}
        return {model: config for model, config in found.items() if config is not None}

    def _try_load(self, model: str) -> None:
        try:
            self.load(model)
        except (RequestError, EscapedError) as error:
            self._log(f"Error loading {model}: {error}")

    def _watch(self) -> None:
        known = self._configured()
        while not self._stop.wait(POLL_INTERVAL_S):
            current = self._configured()
            for model in sorted(current.keys() - known.keys()):
                self._stop.wait(SETTLE_DELAY_S)
                self._try_load(model)
            for model in sorted(known.keys() - current.keys()):
                self.unload(model)
            known = current
