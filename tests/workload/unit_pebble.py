"""Scenario units whose workload container is a real Pebble daemon.

Under Scenario a charm talks to an in-memory Pebble. Here each unit's
container client is a real `ops.pebble.Client` on that unit's daemon, so the
charm's own code (its Workload, its roll-out) drives real services and reads
real check and service states, in the same hook. Only what differs between
the rock and this machine is mapped, as `harness.host_layer` does for the
tests that add the charm's layers by hand: rock paths in the layers the charm
adds, and in the files it reads and writes. The plan the charm reads back shows
its own definitions again, so that it compares what it asked for with what
it asked for.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from ops import pebble
from scenario import mocking

from bench.servers import rock_paths_on_host
from tests.workload.harness import host_layer


class MappedPebble(pebble.Client):
    """A real Pebble client that maps rock paths to this machine's, both ways."""

    def __init__(self, socket_path: str, scratch: Path, keep_user: bool):
        super().__init__(socket_path=socket_path)
        self._scratch = scratch
        self._keep_user = keep_user
        self._paths = rock_paths_on_host(scratch)
        # Service name -> (its definition as planned here, as the charm wrote it).
        self._originals: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}

    def add_layer(
        self, label: str, layer: str | pebble.LayerDict | pebble.Layer, *, combine: bool = False
    ) -> None:
        """Add the charm's layer with its rock paths mapped here."""
        original = layer if isinstance(layer, pebble.Layer) else pebble.Layer(layer)
        mapped = host_layer(original, self._scratch, self._keep_user)
        written = original.to_dict().get("services", {})
        for name, service in mapped.get("services", {}).items():
            self._originals[name] = (dict(service), dict(written[name]))
        super().add_layer(label, mapped, combine=combine)

    def get_plan(self) -> pebble.Plan:
        """The plan, each service the charm added shown as the charm wrote it."""
        plan: dict[str, Any] = dict(super().get_plan().to_dict())
        services: dict[str, Any] = plan.get("services", {})
        for name, (planned, written) in self._originals.items():
            shown = services.get(name)
            if shown is not None and _service(name, shown) == _service(name, planned):
                services[name] = written
        return pebble.Plan(yaml.safe_dump(plan))

    # Files: the charm reads and removes the server's failure reason at its rock path.
    def pull(self, path: str, *args: Any, **kwargs: Any) -> Any:  # pyright: ignore[reportIncompatibleMethodOverride]
        """Read the mapped file."""
        return super().pull(self._paths.get(path, path), *args, **kwargs)

    def list_files(self, path: str, *args: Any, **kwargs: Any) -> list[pebble.FileInfo]:
        """List the mapped path."""
        return super().list_files(self._paths.get(path, path), *args, **kwargs)

    def remove_path(self, path: str, *args: Any, **kwargs: Any) -> None:
        """Remove the mapped path."""
        super().remove_path(self._paths.get(path, path), *args, **kwargs)


def _service(name: str, definition: dict[str, Any]) -> pebble.Service:
    return pebble.Service(name, definition)  # type: ignore[arg-type]


@contextmanager
def units_on_pebble(clients: Mapping[int, pebble.Client]) -> Generator[None]:
    """While active, the container of Scenario's unit N is `clients[N]`."""

    def get_pebble(backend: Any, socket_path: str) -> pebble.Client:
        return clients[backend._context.unit_id]

    with mock.patch.object(mocking._MockModelBackend, "get_pebble", get_pebble):
        yield
