"""The commands under comparison for one runtime: upstream's and the charm's default.

Upstream's is the runtime's ClusterServingRuntime as KServe runs it: the server
image's entrypoint, `python -m <server>`, with the runtime's args as
rocks/rocks.yaml records them (the rock tests check them against KServe's
manifests), put on this machine by `tests.kserve_manifests.local_args` as the
workload tests put them. The charm's is the command and environment the charm
puts in its Pebble layer, taken from the charm's own code
(`family_for(runtime).command(config)`) with the option values Juju gives a
charm that was never configured, and the rock's paths mapped onto this
repository (`bench.servers.rock_paths_on_host`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.kserve_manifests import local_args
from bench.servers import Command, Endpoint, rock_paths_on_host, to_host
from model_server_charm.families import family_for
from model_server_charm.families.kserve_python.options import KServeModelOptions
from model_server_charm.runtimes import RUNTIMES, Example, Runtime
from scripts.kserve_rocks import KServeRuntime, load_kserve_rocks
from scripts.render_charms import juju_defaults

# The runtimes whose models the bench builds on this machine (bench.frameworks); the
# others' frameworks are heavy and installed only in their own workload environments.
COMPARED_RUNTIMES = ("sklearn", "xgboost", "lightgbm", "pmml", "predictive")
# The option of a runtime that serves several frameworks (predictive).
FRAMEWORK_OPTION = "framework"
UPSTREAM_LABEL = "upstream default"
CHARM_LABEL = "charm default"
# The interpreter the charm's command names; on this machine it is the bench's own.
ROCK_PYTHON = "python3"


class ComparisonError(ValueError):
    """The runtime or framework asked for is not one the bench can compare."""


@dataclass(frozen=True)
class Comparison:
    """One runtime under comparison: its model's framework, its example, both commands."""

    runtime: Runtime
    kserve_runtime: KServeRuntime
    framework: str
    example: Example
    # The charm's option values (by field name): Juju's defaults and the example's setting.
    charm_values: dict[str, Any]

    @classmethod
    def of(cls, runtime_name: str, framework: str | None = None) -> Comparison:
        """The comparison of a runtime; ComparisonError says why it cannot be made.

        `framework` is the model format (`{{.Annotations.modelFormat}}`, the
        charm's `framework` option): by default the charm's default, else the
        one format KServe's runtime supports.
        """
        if runtime_name not in COMPARED_RUNTIMES:
            known = "a runtime" if runtime_name in RUNTIMES else "an unknown runtime"
            raise ComparisonError(
                f"--runtime {runtime_name}: {known} the bench does not compare;"
                f" choose one of {', '.join(COMPARED_RUNTIMES)}"
            )
        runtime = RUNTIMES[runtime_name]
        kserve_runtime = load_kserve_rocks().rocks[runtime.server_module].runtime
        formats = list(
            dict.fromkeys(model_format.name for model_format in kserve_runtime.model_formats)
        )
        defaults = juju_defaults(runtime)
        chosen = framework or defaults.get(FRAMEWORK_OPTION) or formats[0]
        if chosen not in formats:
            raise ComparisonError(
                f"--framework {chosen}: {kserve_runtime.name} serves {', '.join(formats)} models"
            )
        wanted = {FRAMEWORK_OPTION: chosen} if FRAMEWORK_OPTION in defaults else {}
        example, values = _example_for(runtime, defaults, wanted)
        return cls(runtime, kserve_runtime, chosen, example, values)

    @property
    def charm_workers(self) -> int:
        """The worker processes of the charm's default command (on this machine's CPUs)."""
        values = {**self.charm_values, "model_uri": self.example.model_uri}
        config = family_for(self.runtime).config_from(values)
        return config.group(KServeModelOptions).worker_count(config)

    def upstream_command(self, endpoint: Endpoint) -> Command:
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
            UPSTREAM_LABEL, (sys.executable, "-m", self.runtime.server_module, *arguments)
        )

    def charm_command(
        self,
        endpoint: Endpoint,
        scratch: Path,
        label: str = CHARM_LABEL,
        without: tuple[str, ...] = (),
        **changes: Any,
    ) -> Command:
        """The charm's command and environment, as run on this machine.

        `changes` (option values, e.g. `workers=1`) and `without` (environment
        variables to leave out) build the steps between upstream's command and
        the charm's default, one lever at a time.
        """
        family = family_for(self.runtime)
        config = family.config_from(
            {
                **self.charm_values,
                "model_name": endpoint.model_name,
                "model_uri": str(endpoint.model_dir),
                "http_port": endpoint.http_port,
                "grpc_port": endpoint.grpc_port,
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
        return Command(label, argv, environment)

    def lever_commands(self, endpoint: Endpoint, scratch: Path) -> list[Command]:
        """The steps from upstream's command to the charm's, one lever at a time."""
        steps = [
            self.upstream_command(endpoint),
            self.charm_command(
                endpoint, scratch, "launcher, 1 worker", workers=1, log_requests=True
            ),
            self.charm_command(
                endpoint,
                scratch,
                "+ quiet logs",
                without=("PYTHONWARNINGS",),
                workers=1,
                log_requests=False,
            ),
            self.charm_command(
                endpoint, scratch, "+ warnings filtered", workers=1, log_requests=False
            ),
        ]
        charm = self.charm_command(endpoint, scratch)
        # A charm that runs one worker by default reaches its default at the last step.
        last = steps[-1]
        if (charm.argv, charm.environment) == (last.argv, last.environment):
            return [*steps[:-1], charm]
        return [*steps, charm]


def _example_for(
    runtime: Runtime, defaults: dict[str, Any], wanted: dict[str, Any]
) -> tuple[Example, dict[str, Any]]:
    """The runtime's first example whose setting has the wanted values, and that setting.

    An example's setting is Juju's defaults with the option values it is for
    (its `when`; predictive's lightgbm example is for `workers=1` too).
    """
    for example in runtime.examples:
        setting = {**defaults, **{key.replace("-", "_"): v for key, v in example.when.items()}}
        if all(setting.get(option) == value for option, value in wanted.items()):
            return example, setting
    raise ComparisonError(f"{runtime.name} has no upstream example request for {wanted}")
