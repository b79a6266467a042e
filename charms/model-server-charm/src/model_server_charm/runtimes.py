"""What distinguishes one model-serving runtime from another, as data.

Every charm in the bundle runs the same code; the only thing a thin charm says
is which entry of `runtimes.yaml` it serves. Keeping the differences in data
means a new runtime is one YAML entry plus a thin charm directory, and the
tests cover it by iterating over `RUNTIMES`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import yaml

Protocol = Literal["v1", "v2"]
Hardware = Literal["gpu", "fpga"]

# Every KServe Python runtime exports the same request_*_seconds histograms, so
# they share these; a server with other metrics (proteus) names its own files.
DEFAULT_ALERT_RULES = ("server", "kserve")
DEFAULT_DASHBOARDS = ("kserve",)


@dataclass(frozen=True)
class Example:
    """The runtime's upstream example, used by the `smoke-test` action.

    `expected` is only meaningful when the served model is `model_uri`; for any
    other model the smoke test can only check that the answer is well formed.
    """

    model_uri: str
    protocol: Protocol
    request: dict[str, Any]
    expected: dict[str, Any]

    @property
    def request_json(self) -> str:
        """The request body exactly as it is sent."""
        return json.dumps(self.request)


@dataclass(frozen=True)
class Runtime:
    """One model server: how to start it and what it can do."""

    name: str
    # The server family (families/): how the server is run, watched and asked.
    family: str
    server_module: str
    display_name: str
    max_workers: int
    model_formats: tuple[str, ...]
    protocols: tuple[Protocol, ...]
    example: Example
    environment: dict[str, str] = field(default_factory=dict[str, str])
    # The runtime's own option groups (options.RUNTIME_GROUPS), declared only in its charm.
    options: tuple[str, ...] = ()
    # Juju defaults of options that differ from the charms' usual ones (option name -> value).
    option_defaults: dict[str, Any] = field(default_factory=dict[str, Any])
    hardware: tuple[Hardware, ...] = ()
    # Observability files (model_server_charm/observability/…) naming the server's metrics.
    alert_rules: tuple[str, ...] = DEFAULT_ALERT_RULES
    dashboards: tuple[str, ...] = DEFAULT_DASHBOARDS

    @property
    def service_name(self) -> str:
        """The Pebble service name, the same in the rock and in the charm's layer."""
        return self.server_module


def _runtime_from_entry(name: str, entry: dict[str, Any]) -> Runtime:
    example = entry["example"]
    return Runtime(
        name=name,
        family=entry["family"],
        server_module=entry["server-module"],
        display_name=entry["display-name"],
        max_workers=int(entry["max-workers"]),
        model_formats=tuple(entry["model-formats"]),
        protocols=tuple(entry["protocols"]),
        environment={str(k): str(v) for k, v in entry["environment"].items()},
        options=tuple(entry.get("options", ())),
        option_defaults=dict(entry.get("option-defaults", {})),
        hardware=tuple(entry["hardware"]),
        alert_rules=tuple(entry.get("alert-rules", DEFAULT_ALERT_RULES)),
        dashboards=tuple(entry.get("dashboards", DEFAULT_DASHBOARDS)),
        example=Example(
            model_uri=example["model-uri"],
            protocol=example["protocol"],
            request=example["request"],
            expected=example["expected"],
        ),
    )


def load_runtimes() -> dict[str, Runtime]:
    """Read every runtime from the packaged `runtimes.yaml`."""
    text = resources.files("model_server_charm").joinpath("runtimes.yaml").read_text()
    entries: dict[str, dict[str, Any]] = yaml.safe_load(text)
    return {name: _runtime_from_entry(name, entry) for name, entry in entries.items()}


RUNTIMES: dict[str, Runtime] = load_runtimes()
