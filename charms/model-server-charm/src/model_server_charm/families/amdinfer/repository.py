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
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import BinaryIO

import ops

from model_server_charm import bounded
from model_server_charm.families.amdinfer import models
from model_server_charm.families.amdinfer.api import load_worker
from model_server_charm.families.amdinfer.models import ModelEntry
from model_server_charm.server_client import (
    ModelServerClient,
    RequestRefusedError,
    ServerAnswer,
    ServerUnreachableError,
)
from model_server_charm.workload import Workload

# A directory holding this file was written by the charm; the file holds the model's URI.
MARKER = ".written-by-charm"
# Worker models the charm loaded: {model name: endpoint}.
WORKERS_FILE = ".workers-loaded-by-charm.json"
DOWNLOAD_TIMEOUT_S = 60


def download_url(uri: str) -> str:
    """The public HTTPS address of a gs:// or s3:// object (http(s) as it is)."""
    scheme, _, rest = uri.partition("://")
    bucket, _, path = rest.partition("/")
    if scheme == "gs":
        return f"https://storage.googleapis.com/{bucket}/{path}"
    if scheme == "s3":
        return f"https://{bucket}.s3.amazonaws.com/{path}"
    return uri


class ModelRepository:
    """The repository the server loads from, in the server's container, and its API."""

    def __init__(self, workload: Workload, client: ModelServerClient, root: str):
        self.workload = workload
        self.client = client
        self.root = root
        self.problems: list[str] = []

    def converge(self, entries: Sequence[ModelEntry]) -> ops.StatusBase | None:
        """Make the repository and the loaded models those of `entries`; a status if not all."""
        stored = [entry for entry in entries if not entry.is_worker]
        for entry in stored:
            self._write(entry)
        self._remove_stale({entry.name for entry in stored})
        self._converge_workers([entry for entry in entries if entry.is_worker])
        for entry in stored:
            self._load(entry.name)
        if self.problems:
            return ops.BlockedStatus("; ".join(self.problems) + "; fix the models option")
        return None

    def _write(self, entry: ModelEntry) -> None:
        directory = f"{self.root}/{entry.name}"
        config = models.config_toml(entry)
        if self.workload.read_text(f"{directory}/config.toml", len(config) + 1) != config:
            self.workload.write(f"{directory}/config.toml", config)
        if self.workload.read_text(f"{directory}/{MARKER}", 4096) == entry.uri:
            return
        source = self._open(entry.uri)
        if source is None:
            return
        with source:
            written = self.workload.write(f"{directory}/1/{entry.file_name}", source)
        if written:
            self.workload.write(f"{directory}/{MARKER}", entry.uri)

    def _open(self, uri: str) -> BinaryIO | None:
        if uri.startswith("/"):
            return self.workload.open_binary(uri)
        try:
            return urllib.request.urlopen(download_url(uri), timeout=DOWNLOAD_TIMEOUT_S)
        except (urllib.error.URLError, OSError, ValueError) as error:
            self.problems.append(f"cannot fetch {bounded.quote(uri)}: {error}")
            return None

    def _remove_stale(self, wanted: set[str]) -> None:
        for name in self.workload.directories(self.root):
            written = self.workload.read_text(f"{self.root}/{name}/{MARKER}", 4096) is not None
            if written and name not in wanted:
                self._post(f"/v2/repository/models/{name}/unload")
                self.workload.remove_tree(f"{self.root}/{name}")

    def _converge_workers(self, entries: Sequence[ModelEntry]) -> None:
        path = f"{self.root}/{WORKERS_FILE}"
        loaded = self._loaded_workers(path)
        wanted = {entry.name for entry in entries}
        for name in [name for name in loaded if name not in wanted]:
            self._post(f"/v2/workers/{loaded.pop(name)}/unload")
        for entry in entries:
            endpoint = loaded.get(entry.name)
            if endpoint and self.client.answers(f"/v2/models/{endpoint}/ready"):
                continue
            try:
                loaded[entry.name] = load_worker(self.client, entry.worker, entry.parameters)
            except (RequestRefusedError, ServerUnreachableError) as error:
                self.problems.append(f"model {entry.name}: {error}")
        self.workload.write(path, json.dumps(loaded))

    def _loaded_workers(self, path: str) -> dict[str, str]:
        text = self.workload.read_text(path, 64 * 1024) or "{}"
        try:
            loaded = bounded.parse_json(text, bounded.JSONLimits(max_bytes=64 * 1024), path)
        except bounded.JSONInputError:
            return {}
        if not isinstance(loaded, dict):
            return {}
        return {str(k): str(v) for k, v in loaded.items() if isinstance(v, str)}

    def _load(self, name: str) -> None:
        if self.client.answers(f"/v2/models/{name}/ready"):
            return
        answer = self._post(f"/v2/repository/models/{name}/load")
        if answer is not None and not answer.ok:
            reason = bounded.shorten(answer.body, bounded.QUOTED_ANSWER_BYTES)
            self.problems.append(f"model {name} did not load: {reason}")

    def _post(self, path: str) -> ServerAnswer | None:
        try:
            return self.client.post(path, b"{}")
        except ServerUnreachableError as error:
            self.problems.append(f"the server did not answer {path}: {error}")
            return None
