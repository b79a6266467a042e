"""The charm's configuration, validated as a whole.

`ServerConfig` holds the options every charm has; `CharmConfig` adds the
option groups of the charm's family and runtime (`options`). Each is built by
`ops.CharmBase.load_config` from the Juju options (dashes become
underscores). Validation collects every problem of every group before
raising, so one Blocked status names all of them and the operator fixes the
configuration in one pass instead of one option per hook.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import Field, dataclass
from typing import Any, ClassVar, Literal, TypeVar

import ops

from model_server_charm import validation
from model_server_charm.bounded import quote
from model_server_charm.runtimes import Runtime

DeploymentMode = Literal["sidecar", "serverless"]
AutoscalingMetric = Literal["concurrency", "rps", "cpu", "memory"]

DEPLOYMENT_MODES: tuple[DeploymentMode, ...] = ("sidecar", "serverless")
AUTOSCALING_METRICS: tuple[AutoscalingMetric, ...] = ("concurrency", "rps", "cpu", "memory")

# Ports below 1024 need root, and the rocks run as the unprivileged _daemon_ user.
MIN_PORT, MAX_PORT = 1024, 65535
# Ports Juju's own processes listen on in every unit's pod (Juju 3.6: the pod's
# containers share one network namespace, so the server cannot have them).
JUJU_POD_PORTS = {
    3856: "Juju's container agent (its health probes)",
    38812: "the charm container's Pebble",
    38813: "the server container's Pebble",
}
# KServe's fields for these options are 32-bit integers (scaleTarget, minReplicas, maxReplicas).
INT32_OPTIONS = ("autoscaling-target", "min-replicas", "max-replicas")


class ConfigError(ValueError):
    """Raised with every invalid option, one problem per entry of `problems`."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class OptionGroup:
    """What every option group can say; each says nothing unless it overrides it.

    Every group is a frozen dataclass whose fields are its Juju options.
    """

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]
    # Its declaration in charmcraft.yaml: charms/model-server-charm/options/<name>.yaml.j2.
    name: ClassVar[str]

    def problems(self, config: CharmConfig) -> list[str]:
        """What is wrong with these options, one entry per problem (all of them)."""
        return []

    def server_arguments(self) -> list[str]:
        """Flags these options add to the server's command line."""
        return []

    def server_environment(self) -> dict[str, str]:
        """Variables these options add to the server's environment."""
        return {}

    def extended_resources(self) -> dict[str, int]:
        """Devices these options ask for (resource name -> count)."""
        return {}

    def names_the_model(self) -> bool:
        """Whether these options say which model to serve (so model-uri may stay empty)."""
        return False


@dataclass(frozen=True)
class ServerConfig(OptionGroup):
    """The options every model-server charm has, with the charm's defaults."""

    http_port: int = 8080
    grpc_port: int = 8081
    cpu: str = ""
    memory: str = ""
    deployment_mode: str = "sidecar"
    autoscaling_target: int = 0
    autoscaling_metric: str = "concurrency"
    min_replicas: int = 1
    max_replicas: int = 1
    storage_credentials: ops.Secret | None = None
    image: str = ""
    latency_alert_threshold: float = 1.0

    def problems(self, config: CharmConfig) -> list[str]:
        """Every problem with these options (all of them, none when valid)."""
        return [
            *self._server_problems(),
            *self._resource_problems(),
            *self._scaling_problems(),
            *self._alerting_problems(),
        ]

    def _server_problems(self) -> list[str]:
        problems: list[str] = []
        for option, port in (("http-port", self.http_port), ("grpc-port", self.grpc_port)):
            if not MIN_PORT <= port <= MAX_PORT:
                problems.append(f"{option}={port}: must be between {MIN_PORT} and {MAX_PORT}")
            elif port in JUJU_POD_PORTS:
                problems.append(
                    f"{option}={port}: taken by {JUJU_POD_PORTS[port]} in every unit's pod;"
                    " use another port"
                )
        if self.http_port == self.grpc_port:
            problems.append(f"http-port and grpc-port are both {self.http_port}: use two ports")
        if self.deployment_mode not in DEPLOYMENT_MODES:
            problems.append(
                f"deployment-mode={quote(self.deployment_mode)}: use one of"
                f" {', '.join(DEPLOYMENT_MODES)}"
            )
        if self.deployment_mode == "serverless" and self.storage_credentials is not None:
            # KServe's storage initializer takes credentials from a service account,
            # not from the predictor's environment: the secret would silently not apply.
            problems.append(
                "storage-credentials are not passed on in serverless mode yet: use a public"
                " model location there, or deployment-mode=sidecar"
            )
        if self.image and not validation.is_image_reference(self.image):
            problems.append(
                f"image={quote(self.image)}: not an OCI image reference"
                " ([registry[:port]/]name[:tag][@sha256:digest])"
            )
        return problems

    def _resource_problems(self) -> list[str]:
        problems: list[str] = []
        for option, quantity, stored_as_sent in (
            ("cpu", self.cpu, validation.cpu_problem),
            ("memory", self.memory, validation.memory_problem),
        ):
            if not quantity:
                continue
            if not validation.is_positive_quantity(quantity):
                problems.append(
                    f"{option}={quote(quantity)}: not a positive Kubernetes quantity"
                    " (for example 500m, 2, 512Mi, 4Gi)"
                )
            elif problem := stored_as_sent(quantity):
                problems.append(f"{option}={quote(quantity)}: {problem}")
        return problems

    def _scaling_problems(self) -> list[str]:
        problems: list[str] = []
        if self.autoscaling_target < 0:
            problems.append(
                f"autoscaling-target={self.autoscaling_target}: must be 0 (KServe's default)"
                " or more"
            )
        if self.autoscaling_metric not in AUTOSCALING_METRICS:
            problems.append(
                f"autoscaling-metric={quote(self.autoscaling_metric)}: use one of"
                f" {', '.join(AUTOSCALING_METRICS)}"
            )
        if self.min_replicas < 0:
            problems.append(f"min-replicas={self.min_replicas}: must be 0 (scale to zero) or more")
        if self.max_replicas < 1:
            problems.append(f"max-replicas={self.max_replicas}: must be 1 or more")
        elif self.min_replicas > self.max_replicas:
            problems.append(
                f"min-replicas={self.min_replicas} is above max-replicas={self.max_replicas}"
            )
        values = (self.autoscaling_target, self.min_replicas, self.max_replicas)
        for option, value in zip(INT32_OPTIONS, values, strict=True):
            if value > validation.MAX_INT32:
                problems.append(
                    f"{option}={value}: must be at most {validation.MAX_INT32}"
                    " (KServe stores it as a 32-bit integer)"
                )
        return problems

    @property
    def autoscaling_active(self) -> bool:
        """Whether `autoscaling-target` takes effect: only KServe scales replicas."""
        return self.deployment_mode == "serverless"

    def _alerting_problems(self) -> list[str]:
        # NaN and infinity would make the alert never (or always) fire without saying so.
        if not (math.isfinite(self.latency_alert_threshold) and self.latency_alert_threshold > 0):
            return [
                f"latency-alert-threshold={self.latency_alert_threshold}: must be a positive"
                " number of seconds (for example 0.5)"
            ]
        return []


Group = TypeVar("Group", bound=OptionGroup)


@dataclass(frozen=True)
class CharmConfig:
    """Every option of one charm: the shared ones and its family's and runtime's groups."""

    runtime: Runtime
    server: ServerConfig
    groups: tuple[OptionGroup, ...] = ()

    @classmethod
    def load(
        cls, runtime: Runtime, groups: Iterable[OptionGroup], server: ServerConfig
    ) -> CharmConfig:
        """Put loaded groups together; raise ConfigError with every problem of every group."""
        config = cls(runtime=runtime, server=server, groups=tuple(groups))
        problems = [problem for group in config.all_groups for problem in group.problems(config)]
        if problems:
            raise ConfigError(problems)
        return config

    @classmethod
    def from_values(
        cls, runtime: Runtime, kinds: Iterable[type[OptionGroup]], values: Mapping[str, Any]
    ) -> CharmConfig:
        """A validated configuration from option values (`model_uri=…`): what tests build."""
        kinds = tuple(kinds)
        known = {f.name for kind in (ServerConfig, *kinds) for f in dataclasses.fields(kind)}
        if unknown := set(values) - known:
            raise TypeError(f"no such option: {', '.join(sorted(unknown))}")
        groups = [_group(kind, values) for kind in kinds]
        server = ServerConfig(**_values_of(ServerConfig, values))
        return cls.load(runtime, groups, server)

    @property
    def all_groups(self) -> tuple[OptionGroup, ...]:
        """The shared options first, then every group."""
        return (self.server, *self.groups)

    def group(self, kind: type[Group]) -> Group:
        """The group of this kind; a charm without it asked for it by mistake."""
        for group in self.groups:
            if isinstance(group, kind):
                return group
        raise LookupError(f"{self.runtime.name} has no {kind.__name__}")

    def replace(self, **changes: Any) -> CharmConfig:
        """The same configuration with some option values changed (not validated again)."""
        return CharmConfig(
            runtime=self.runtime,
            server=dataclasses.replace(self.server, **_values_of(ServerConfig, changes)),
            groups=tuple(
                dataclasses.replace(group, **_values_of(type(group), changes))
                for group in self.groups
            ),
        )

    def server_arguments(self) -> list[str]:
        """Every group's flags for the server."""
        return [argument for group in self.groups for argument in group.server_arguments()]

    def server_environment(self) -> dict[str, str]:
        """Every group's variables for the server."""
        return {k: v for group in self.groups for k, v in group.server_environment().items()}

    def extended_resources(self) -> dict[str, int]:
        """Every group's devices."""
        return {k: v for group in self.groups for k, v in group.extended_resources().items()}

    def value(self, option: str) -> Any:
        """The value of a Juju option (`framework`, `model-uri`), None if the charm has none."""
        field_name = option.replace("-", "_")
        for group in self.all_groups:
            if field_name in {f.name for f in dataclasses.fields(group)}:
                return getattr(group, field_name)
        return None

    def names_the_model(self) -> bool:
        """Whether a group other than model-uri says which model to serve."""
        return any(group.names_the_model() for group in self.groups)

    def max_workers(self) -> int:
        """The most worker processes the runtime runs (runtimes.yaml's max-workers)."""
        return self.runtime.max_workers


def _values_of(kind: type[OptionGroup], values: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(kind)}
    return {name: value for name, value in values.items() if name in names}


def _group(kind: type[OptionGroup], values: Mapping[str, Any]) -> OptionGroup:
    return kind(**_values_of(kind, values))
