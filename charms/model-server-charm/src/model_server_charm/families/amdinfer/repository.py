"""The AMD Inference Server's models in sidecar mode: the repository and what is loaded.

Each repository model of `models` becomes `<repository>/<name>/config.toml`
and `<repository>/<name>/1/<file>` (the file fetched from its URI once: a
marker file records which URI it came from) and is loaded through the
repository API; each worker model is loaded through the worker API. What the
charm wrote or loaded and is no longer in `models` is unloaded and removed;
what it did not write (a model an operator put there) is left alone. The
server loads the repository at start (`--repository-load-existing`), and the
charm loads the rest again whenever Pebble has restarted the server.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence

import ops

from model_server_charm import bounded, validation
from model_server_charm.families.amdinfer import download, models
from model_server_charm.families.amdinfer.api import (
    ENDPOINT,
    accepted,
    load_worker,
    post,
)
from model_server_charm.families.amdinfer.models import ModelEntry
from model_server_charm.server_client import (
    ModelServerClient,
    RequestRefusedError,
    ServerUnreachableError,
)
from model_server_charm.workload import Workload

# A directory holding this file was written by the charm; the file holds the model's URI.
MARKER = ".written-by-charm"
# Worker models the charm loaded: {model name: endpoint}.
WORKERS_FILE = ".workers-loaded-by-charm.json"


class ModelRepository:
    """The repository the server loads from, in the server's container, and its API."""

    def __init__(
        self, workload: Workload, client: ModelServerClient, root: str, download_limit: int
    ):
        self.workload = workload
        self.client = client
        self.root = root
        # The most bytes fetched for one model file.
        self.download_limit = download_limit
        self.problems: list[str] = []

    def converge(self, entries: Sequence[ModelEntry]) -> ops.StatusBase | None:
        """Make the repository and the loaded models those of `entries`; a status if not all."""
        stored = [entry for entry in entries if not entry.is_worker]
        written = [entry.name for entry in stored if self._write(entry)]
        self._remove_stale({entry.name for entry in stored})
        self._converge_workers([entry for entry in entries if entry.is_worker])
        for name in written:
            self._load(name)
        if self.problems:
            return ops.BlockedStatus("; ".join(self.problems) + "; fix the models option")
        return None

    def _write(self, entry: ModelEntry) -> bool:
        """The entry's file and config.toml in the repository; whether they are there.

        The file is fetched first: when that fails, the repository is left as it was.
        """
        directory = f"{self.root}/{entry.name}"
        fetched = self.workload.read_text(f"{directory}/{MARKER}", 4096) != entry.uri
        if fetched and not self._fetch(entry, directory):
            return False
        config = models.config_toml(entry)
        path = f"{directory}/config.toml"
        if self.workload.read_text(path, len(config) + 1) != config and not self.workload.write(
            path, config
        ):
            return False
        return not fetched or self.workload.write(f"{directory}/{MARKER}", entry.uri)

    def _fetch(self, entry: ModelEntry, directory: str) -> bool:
        """The model's file, alone in `<directory>/1/`; whether it is there."""
        local = None
        if entry.uri.startswith("/"):
            local = self.workload.open_binary(entry.uri)
            if local is None:
                return False  # the Pebble fault is the status
        # Spooled in the charm's container: pushed only once whole.
        with tempfile.TemporaryFile() as spool:
            try:
                download.fetch(entry.uri, spool, self.download_limit, local)
            except download.DownloadError as error:
                uri = bounded.quote(validation.without_credentials(entry.uri))
                self.problems.append(f"model {entry.name}: cannot fetch {uri}: {error}")
                return False
            # The server loads the one file of the version directory: the old one goes.
            self.workload.remove_tree(f"{directory}/1")
            return self.workload.write(f"{directory}/1/{entry.file_name}", spool)

    def _remove_stale(self, wanted: set[str]) -> None:
        for name in self.workload.directories(self.root):
            if name in wanted or not models.REPOSITORY_NAME.fullmatch(name):
                continue
            if self.workload.read_text(f"{self.root}/{name}/{MARKER}", 4096) is not None:
                self._unload(name, f"/v2/repository/models/{name}/unload")
                self.workload.remove_tree(f"{self.root}/{name}")

    def _converge_workers(self, entries: Sequence[ModelEntry]) -> None:
        path = f"{self.root}/{WORKERS_FILE}"
        loaded = self._loaded_workers(path)
        before = dict(loaded)
        wanted = {entry.name for entry in entries}
        for name in [name for name in loaded if name not in wanted]:
            self._unload(name, f"/v2/workers/{loaded.pop(name)}/unload")
        for entry in entries:
            endpoint = loaded.get(entry.name)
            if endpoint and self.client.answers(f"/v2/models/{endpoint}/ready"):
                continue
            try:
                loaded[entry.name] = load_worker(self.client, entry.worker, entry.parameters)
            except (RequestRefusedError, ServerUnreachableError) as error:
                self.problems.append(f"model {entry.name}: {error}")
        if loaded != before:
            self.workload.write(path, json.dumps(loaded))

    def _loaded_workers(self, path: str) -> dict[str, str]:
        text = self.workload.read_text(path, 64 * 1024) or "{}"
        try:
            loaded = bounded.parse_json(text, bounded.JSONLimits(max_bytes=64 * 1024), path)
        except bounded.JSONInputError:
            return {}
        if not isinstance(loaded, dict):
            return {}
        return {
            str(name): endpoint
            for name, endpoint in loaded.items()
            if isinstance(endpoint, str) and ENDPOINT.fullmatch(endpoint)
        }

    def _load(self, name: str) -> None:
        if self.client.answers(f"/v2/models/{name}/ready"):
            return
        try:
            accepted(post(self.client, f"/v2/repository/models/{name}/load"), "the server")
        except RequestRefusedError as error:
            self.problems.append(f"model {name} did not load: {error}")
        except ServerUnreachableError as error:
            self.problems.append(f"model {name}: the server did not answer: {error}")

    def _unload(self, name: str, path: str) -> None:
        """Unload what the charm loaded (the server may have restarted without it: no check)."""
        try:
            post(self.client, path)
        except ServerUnreachableError as error:
            self.problems.append(f"model {name}: the server did not answer its unload: {error}")
