"""Endpoints: the names workers and models are served under, as amdinfer v0.4.0 keeps them.

Naming and counting follow src/amdinfer/core/endpoints.cpp:

- the first load of a worker (or model) with some parameters is served under its
  own name; the same parameters again return that endpoint; other parameters get
  `<name>-0`, `<name>-1`, ... (the index keeps growing while the name is known);
- `share` (default true) is taken out of the parameters: a load with
  `share: false` of an existing endpoint adds a worker to its group;
- an unload removes one worker of the group; the endpoint goes when none is
  left; an unload of an unknown endpoint does nothing.

Which workers exist is the CPU-only build's business: here only `cplusplus`
running the `echo` model. Creating any other worker fails inside amdinfer
(`basic_string::_S_construct null not valid`): no handler catches that, so the
load is a 500 with an empty body. `cplusplus` opens its model with dlopen:
`model` as given when it ends in `.so`, else `lib<model>.so`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amdinfer.errors import EscapedError, RequestError

ECHO_MODEL_FILE = "libecho.so"
# A parameter map's identity: its items, with the value's type (C++ keeps bool and int apart).
ParameterKey = frozenset[tuple[str, str, Any]]


@dataclass
class EndpointWorkers:
    """One endpoint: the workers serving it (all run the echo model here)."""

    group_size: int = 1


def check_worker(worker: str, parameters: Mapping[str, Any]) -> None:
    """Fail as creating the worker would fail; return when it would run the echo model."""
    if worker.split("-", 1)[0] != "cplusplus":
        raise EscapedError("basic_string::_S_construct null not valid")
    if "model" not in parameters:
        raise RequestError("No model specified")
    model = parameters["model"]
    if not isinstance(model, str):
        raise EscapedError("model is not a string")  # std::bad_variant_access
    library = model if model.endswith(".so") else f"lib{model}.so"
    if library == ECHO_MODEL_FILE:
        return  # found on the library path, as the build installs it
    if "/" in library and Path(library).is_file():
        if Path(library).name == ECHO_MODEL_FILE:
            return
        raise RequestError(f"{model}: the amdinfer stand-in runs only the echo model")
    raise RequestError(f"{library}: cannot open shared object file: No such file or directory")


def _key(parameters: Mapping[str, Any]) -> ParameterKey:
    return frozenset((name, type(value).__name__, value) for name, value in parameters.items())


class Endpoints:
    """Every loaded endpoint, safe to use from every request thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._workers: dict[str, EndpointWorkers] = {}
        self._endpoints_by_worker: dict[str, dict[ParameterKey, str]] = {}
        self._parameters_of: dict[str, ParameterKey] = {}
        self._indices: dict[str, int] = {}

    def load(self, worker: str, parameters: Mapping[str, Any]) -> str:
        """Load `worker` (a worker or model name) with these parameters; return the endpoint."""
        parameters = dict(parameters)
        share = parameters.pop("share", True)
        if not isinstance(share, bool):
            raise EscapedError("share is not a boolean")
        with self._lock:
            endpoint = self._insert(worker, _key(parameters))
            existing = self._workers.get(endpoint)
            try:
                if existing is None:
                    check_worker(str(parameters.get("worker", endpoint)), parameters)
                    self._workers[endpoint] = EndpointWorkers()
                elif not share:
                    check_worker(str(parameters.get("worker", endpoint)), parameters)
                    existing.group_size += 1
            except (RequestError, EscapedError):
                self._unload(endpoint)
                raise
            return endpoint

    def unload(self, endpoint: str) -> None:
        """Remove one worker of the endpoint's group (nothing when it does not exist)."""
        with self._lock:
            if endpoint in self._workers:
                self._unload(endpoint)

    def exists(self, endpoint: str) -> bool:
        """Whether the endpoint is served."""
        with self._lock:
            return endpoint in self._workers

    def names(self) -> list[str]:
        """Every endpoint."""
        with self._lock:
            return sorted(self._workers)

    def _insert(self, worker: str, key: ParameterKey) -> str:
        known = self._endpoints_by_worker.get(worker)
        if known is None:
            self._endpoints_by_worker[worker] = {key: worker}
            self._parameters_of[worker] = key
            return worker
        if key not in known:
            index = self._indices[worker] + 1 if worker in self._indices else 0
            endpoint = f"{worker}-{index}"
            known[key] = endpoint
            self._indices[worker] = index
            self._parameters_of[endpoint] = key
            return endpoint
        return known[key]

    def _unload(self, endpoint: str) -> None:
        workers = self._workers.get(endpoint)
        if workers is not None:
            workers.group_size -= 1
        if workers is not None and workers.group_size > 0:
            return
        self._workers.pop(endpoint, None)
        # As upstream: the worker name is the endpoint up to its first `-`.
        worker = endpoint.split("-", 1)[0]
        known = self._endpoints_by_worker.get(worker)
        if known is None:
            return
        if endpoint in self._parameters_of:
            known.pop(self._parameters_of[endpoint], None)
        if not known:
            del self._endpoints_by_worker[worker]
            self._indices.pop(worker, None)
        self._parameters_of.pop(endpoint, None)
