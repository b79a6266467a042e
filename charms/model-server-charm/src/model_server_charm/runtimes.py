"""What distinguishes one model-serving runtime from another, as data.

Every charm in the bundle runs the same code; the only thing a thin charm says
is which entry of `runtimes.yaml` it serves. Keeping the differences in data
means a new runtime is one YAML entry plus a thin charm directory, and the
tests cover it by iterating over `RUNTIMES`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import yaml

# v1 and v2: KServe's REST protocols; openai: the OpenAI-compatible routes of generative models.
Protocol = Literal["v1", "v2", "openai"]
# How an answer is compared with the documented one: as it is (floats within a
# tolerance), or by the index of each row's largest value (class scores).
Judge = Literal["exact", "argmax"]
Hardware = Literal["gpu", "fpga"]

# Every KServe Python runtime exports the same request_*_seconds histograms, so
# they share these; a server with other metrics (proteus) names its own files.
DEFAULT_ALERT_RULES = ("server", "kserve")
DEFAULT_DASHBOARDS = ("kserve",)


@dataclass(frozen=True)
class Example:
    """An upstream example, used by the `smoke-test` action: model, request, documented answer.

    `expected` is only meaningful when the served model is `model_uri`; for any
    other model the smoke test can only check that the answer is well formed.
    An example applies when the charm's options have the values in `when`
    (e.g. `framework: lightgbm`); one without `when` is the runtime's default.
    """

    model_uri: str
    protocol: Protocol
    request: dict[str, Any]
    expected: dict[str, Any] | None
    judge: Judge = "exact"
    when: dict[str, Any] = field(default_factory=dict[str, Any])

    def applies(self, value: Callable[[str], Any]) -> bool:
        """Whether the options (`value` of an option name) are those this example is for."""
        return all(value(option) == wanted for option, wanted in self.when.items())

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
    # Upstream examples, the default (no `when`) last; none where no public model exists.
    examples: tuple[Example, ...]
    environment: dict[str, str] = field(default_factory=dict[str, str])
    # The runtime's own option groups (options.RUNTIME_GROUPS), declared only in its charm.
    options: tuple[str, ...] = ()
    # Juju defaults of options that differ from the charms' usual ones (option name -> value).
    option_defaults: dict[str, Any] = field(default_factory=dict[str, Any])
    hardware: tuple[Hardware, ...] = ()
    # Each worker process loads the model from --model_dir (the launcher's mode for servers
    # whose loaded model cannot be pickled into kserve's spawned workers).
    workers_load_model: bool = False
    # Observability files (model_server_charm/observability/…) naming the server's metrics.
    alert_rules: tuple[str, ...] = DEFAULT_ALERT_RULES
    dashboards: tuple[str, ...] = DEFAULT_DASHBOARDS

    def example_for(self, value: Callable[[str], Any]) -> Example | None:
        """The example for these option values (`value` of an option name), if any."""
        return next((example for example in self.examples if example.applies(value)), None)

    @property
    def default_example(self) -> Example | None:
        """The example when no option selects another one."""
        return next((example for example in self.examples if not example.when), None)

    @property
    def service_name(self) -> str:
        """The Pebble service name, the same in the rock and in the charm's layer."""
        return self.server_module


def _example(entry: dict[str, Any]) -> Example:
    return Example(
        model_uri=entry.get("model-uri", ""),
        protocol=entry["protocol"],
        request=entry["request"],
        expected=entry.get("expected"),
        judge=entry.get("judge", "exact"),
        when=dict(entry.get("when", {})),
    )


def _runtime_from_entry(name: str, entry: dict[str, Any]) -> Runtime:
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
        workers_load_model=bool(entry.get("workers-load-model", False)),
        alert_rules=tuple(entry.get("alert-rules", DEFAULT_ALERT_RULES)),
        dashboards=tuple(entry.get("dashboards", DEFAULT_DASHBOARDS)),
        examples=tuple(_example(example) for example in entry.get("examples", ())),
    )


def load_runtimes() -> dict[str, Runtime]:
    """Read every runtime from the packaged `runtimes.yaml`."""
    text = resources.files("model_server_charm").joinpath("runtimes.yaml").read_text()
    entries: dict[str, dict[str, Any]] = yaml.safe_load(text)
    return {name: _runtime_from_entry(name, entry) for name, entry in entries.items()}


RUNTIMES: dict[str, Runtime] = load_runtimes()
