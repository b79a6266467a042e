"""The KServe Python servers' comparison: upstream's default command and the charm's.

Upstream's is the runtime's ClusterServingRuntime as KServe runs it: the server
image's entrypoint, `python -m <server>`, with the runtime's args as
rocks/rocks.yaml records them (the rock tests check them against KServe's
manifests), put on this machine by `tests.kserve_manifests.local_args` as the
workload tests put them. The charm's is the command and environment the charm
puts in its Pebble layer, taken from the charm's own code
(`family_for(runtime).command(config)`) with the option values Juju gives a
charm that was never configured, and the rock's paths mapped onto this
repository (`bench.servers.rock_paths_on_host`). Worker counts and their caps
are the charm's own: the `--workers` its command passes, and its config's
`max_workers()` (runtimes.yaml's max-workers).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.samples import Sample

from bench.comparison import CHARM_LABEL, UPSTREAM_LABEL, ComparisonError
from bench.frameworks import FRAMEWORKS, Framework
from bench.kserve_manifests import local_args
from bench.metrics import sample_sum
from bench.servers import (
    Command,
    Endpoint,
    imported_from,
    origin_kind,
    rock_paths_on_host,
    to_host,
)
from model_server_charm.config import CharmConfig
from model_server_charm.families import family_for
from model_server_charm.families.kserve_python.family import LAUNCHER_MODULE
from model_server_charm.runtimes import RUNTIMES, Example, Protocol, Runtime
from model_server_charm.serverless import STORAGE_MOUNT
from scripts.kserve_rocks import KServeRuntime, load_kserve_rocks
from scripts.render_charms import juju_defaults

# The option of a runtime that serves several frameworks (predictive).
FRAMEWORK_OPTION = "framework"
# The interpreter the charm's command names; on this machine it is the bench's own.
ROCK_PYTHON = "python3"
WORKERS_FLAG = "--workers="
# The model's name in every KServe comparison.
MODEL_NAME = "iris"
# kserve's ModelServer `--workers` default: what upstream's command runs (tests/rocks holds it
# to the installed kserve's parser).
KSERVE_DEFAULT_WORKERS = 1
# kserve's own count of the predictions a server made, by model.
PREDICT_COUNT = "request_predict_seconds_count"


def kserve_formats(runtime: Runtime) -> list[str]:
    """The model formats KServe's runtime for this server supports, in its order."""
    kserve_runtime = load_kserve_rocks().rocks[runtime.server_module].runtime
    return list(dict.fromkeys(model_format.name for model_format in kserve_runtime.model_formats))


def workers_of(argv: Sequence[str], default: int) -> int:
    """The `--workers=` a command line passes, else the server's `default`."""
    flags = [argument for argument in argv if argument.startswith(WORKERS_FLAG)]
    return int(flags[-1].removeprefix(WORKERS_FLAG)) if flags else default


@dataclass(frozen=True)
class KServeComparison:
    """One KServe runtime under comparison: its model's framework, its request, both commands."""

    runtime: Runtime
    kserve_runtime: KServeRuntime
    framework: str
    example: Example
    # The charm's option values (by field name): Juju's defaults and the example's setting.
    charm_values: dict[str, Any]

    @staticmethod
    def compares(runtime: Runtime) -> bool:
        """Whether the bench can build a model this runtime serves (bench.frameworks)."""
        return any(name in FRAMEWORKS for name in kserve_formats(runtime))

    @classmethod
    def of(cls, runtime: Runtime, framework: str | None = None) -> KServeComparison:
        """The comparison of a runtime; ComparisonError says why it cannot be made here.

        `framework` is the model format (`{{.Annotations.modelFormat}}`, the
        charm's `framework` option): by default the charm's default, else the
        one format KServe's runtime supports.
        """
        kserve_runtime = load_kserve_rocks().rocks[runtime.server_module].runtime
        formats = kserve_formats(runtime)
        defaults = juju_defaults(runtime)
        chosen = framework or defaults.get(FRAMEWORK_OPTION) or formats[0]
        if chosen not in formats:
            raise ComparisonError(
                f"--framework {chosen}: {kserve_runtime.name} serves {', '.join(formats)} models"
            )
        wanted = {FRAMEWORK_OPTION: chosen} if FRAMEWORK_OPTION in defaults else {}
        example, values = _example_for(runtime, FRAMEWORKS[chosen], defaults, wanted)
        return cls(runtime, kserve_runtime, chosen, example, values)

    @property
    def model(self) -> Framework:
        """The framework of the model served."""
        return FRAMEWORKS[self.framework]

    @property
    def model_name(self) -> str:
        """The iris model's name."""
        return MODEL_NAME

    @property
    def protocol(self) -> Protocol:
        """The example request's protocol."""
        return self.example.protocol

    @property
    def request_json(self) -> str:
        """The example request, as sent."""
        return self.example.request_json

    @property
    def charm_workers(self) -> int:
        """The `--workers` of the charm's default command, as the charm's code builds it."""
        config = self._config({})
        return workers_of(family_for(self.runtime).command(config), default=1)

    @property
    def max_workers(self) -> int:
        """The charm's cap on `workers` with these options (runtimes.yaml, the option groups)."""
        return self._config({}).max_workers()

    def describe(self) -> list[str]:
        """The model, the request, and what a single-worker default means."""
        lines = [
            f"model: {self.framework} iris model built here ({self.model.build})",
            f"request ({self.protocol}): {self.request_json}",
        ]
        if self.model.request_of:
            lines.append(
                f"  ({self.runtime.name} has no upstream example request: the bench sends"
                f" {self.model.request_of}'s, the same iris rows)"
            )
        if self.charm_workers == 1:
            lines.append(
                f"The charm runs {self.runtime.server_module} with 1 worker here: the comparison"
                " shows what the launcher and quiet logs are worth alone."
            )
        return lines

    def build_model(self, scratch: Path) -> Path:
        """The framework's iris model in `scratch/model`; ComparisonError without the framework."""
        if not self.model.installed:
            raise ComparisonError(
                f"--runtime {self.runtime.name}: {self.model.package} is not installed in this"
                f" environment; run: tox -e {self.model.tox_env} -- --runtime {self.runtime.name}"
            )
        model_dir = scratch / "model"
        self.model.build_model(model_dir)
        return model_dir

    def ceiling(self, model_dir: Path, seconds: float) -> float:
        """The framework's own predict rate on the request's rows."""
        return self.model.ceiling_rate(model_dir, self.example.request, seconds)

    def origin(self, pid: int) -> str:
        """Where the running server imports its module from, and whose server that is."""
        path = imported_from(pid, self.runtime.server_module)
        return f"{self.runtime.server_module} from {path}: {origin_kind(path)}"

    def served_count(self, samples: Sequence[Sample]) -> int:
        """Kserve's count of the model's predictions."""
        return round(
            sample_sum(
                samples,
                lambda s: s.name == PREDICT_COUNT and s.labels.get("model_name") == MODEL_NAME,
            )
        )

    def upstream_command(self, endpoint: Endpoint, scratch: Path) -> Command:
        """`python -m <server>` with the runtime's args, as the server image runs them."""
        arguments = local_args(
            self.kserve_runtime.args,
            endpoint.model_name,
            self.framework,
            endpoint.model_dir,
            endpoint.http_port,
            endpoint.grpc_port,
        )
        return Command(
            UPSTREAM_LABEL,
            (sys.executable, "-m", self.runtime.server_module, *arguments),
            workers=workers_of(arguments, KSERVE_DEFAULT_WORKERS),
        )

    def charm_command(
        self,
        endpoint: Endpoint,
        scratch: Path,
        label: str = CHARM_LABEL,
        workers: int = 0,
        without: tuple[str, ...] = (),
        **changes: Any,
    ) -> Command:
        """The charm's command and environment, as run on this machine.

        `workers` (when not 0), `changes` (option values, e.g. `log_requests=True`)
        and `without` (environment variables to leave out) build the charm at
        other worker counts and the steps between upstream's command and the
        charm's default, one lever at a time.
        """
        family = family_for(self.runtime)
        config = self._config(
            {
                "model_name": endpoint.model_name,
                "model_uri": str(endpoint.model_dir),
                "http_port": endpoint.http_port,
                "grpc_port": endpoint.grpc_port,
                **({"workers": workers} if workers else {}),
                **changes,
            }
        )
        paths = rock_paths_on_host(scratch)
        interpreter, *arguments = family.command(config)
        if interpreter != ROCK_PYTHON:
            raise ValueError(
                f"the charm's command starts with {interpreter!r}, not {ROCK_PYTHON!r}"
            )
        argv = (sys.executable, *(to_host(argument, paths) for argument in arguments))
        environment = {
            name: to_host(value, paths)
            for name, value in family.environment(config, {}).items()
            if name not in without
        }
        return Command(
            label,
            argv,
            environment,
            workers=workers_of(arguments, default=1),
            tree_memory_metric=LAUNCHER_MODULE in arguments,
        )

    def lever_commands(self, endpoint: Endpoint, scratch: Path) -> list[Command]:
        """The steps from upstream's command to the charm's, one lever at a time."""
        steps = [
            self.upstream_command(endpoint, scratch),
            self.charm_command(endpoint, scratch, "launcher, 1 worker", 1, log_requests=True),
            self.charm_command(
                endpoint,
                scratch,
                "+ quiet logs",
                1,
                without=("PYTHONWARNINGS",),
                log_requests=False,
            ),
            self.charm_command(endpoint, scratch, "+ warnings filtered", 1, log_requests=False),
        ]
        charm = self.charm_command(endpoint, scratch)
        # A charm that runs one worker by default reaches its default at the last step.
        last = steps[-1]
        if (charm.argv, charm.environment) == (last.argv, last.environment):
            return [*steps[:-1], charm]
        return [*steps, charm]

    def _config(self, values: dict[str, Any]) -> CharmConfig:
        """The charm's validated configuration: its values for this comparison, then `values`."""
        model_uri = {"model_uri": self.example.model_uri or STORAGE_MOUNT}
        return family_for(self.runtime).config_from({**self.charm_values, **model_uri, **values})


def _example_for(
    runtime: Runtime, model: Framework, defaults: dict[str, Any], wanted: dict[str, Any]
) -> tuple[Example, dict[str, Any]]:
    """The runtime's first example whose setting has the wanted values, and that setting.

    An example's setting is Juju's defaults with the option values it is for
    (its `when`). A runtime without upstream examples gets the example of the
    runtime its model's framework names (`request_of`), with Juju's defaults.
    """
    if not runtime.examples and model.request_of:
        borrowed = RUNTIMES[model.request_of].default_example
        if borrowed is not None:
            return borrowed, defaults
    for example in runtime.examples:
        setting = {**defaults, **{key.replace("-", "_"): v for key, v in example.when.items()}}
        if all(setting.get(option) == value for option, value in wanted.items()):
            return example, setting
    raise ComparisonError(f"{runtime.name} has no upstream example request for {wanted}")
