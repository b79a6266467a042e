"""The charm's configuration, validated as a whole.

`ServerConfig` is built by `ops.CharmBase.load_config` from the Juju options
(dashes become underscores). Validation collects every problem before raising,
so one Blocked status names all of them and the operator fixes the
configuration in one pass instead of one option per hook.
"""

from __future__ import annotations

import math
from dataclasses import InitVar, dataclass
from typing import Literal

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


class ConfigError(ValueError):
    """Raised with every invalid option, one problem per entry of `problems`."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ServerConfig:
    """Every option of a model-server charm, with the charm's defaults."""

    runtime: InitVar[Runtime]
    model_name: str = "model"
    model_uri: str = ""
    http_port: int = 8080
    grpc_port: int = 8081
    workers: int = 2
    log_requests: bool = False
    cpu: str = ""
    memory: str = ""
    deployment_mode: str = "sidecar"
    autoscaling_target: int = 0
    autoscaling_metric: str = "concurrency"
    min_replicas: int = 1
    max_replicas: int = 1
    storage_credentials: ops.Secret | None = None
    gpu_count: int = 0
    fpga_count: int = 0
    fpga_resource: str = ""
    image: str = ""
    latency_alert_threshold: float = 1.0

    def __post_init__(self, runtime: Runtime) -> None:
        problems = [
            *self._model_problems(),
            *self._server_problems(runtime),
            *self._resource_problems(),
            *self._scaling_problems(),
            *self._alerting_problems(),
        ]
        if problems:
            raise ConfigError(problems)

    def _model_problems(self) -> list[str]:
        problems: list[str] = []
        if not validation.MODEL_NAME.fullmatch(self.model_name):
            problems.append(
                f"model-name={quote(self.model_name)}: use lowercase letters, digits, '.', '_'"
                " or '-' (at most 63, starting and ending with a letter or digit)"
            )
        if not self.model_uri:
            problems.append(
                "model-uri is not set: point it at the model"
                " (gs://, s3://, https://, hf:// or an absolute path)"
            )
        elif problem := validation.model_uri_problem(self.model_uri):
            shown = validation.without_credentials(self.model_uri)
            problems.append(f"model-uri={quote(shown)}: {problem}")
        return problems

    def _server_problems(self, runtime: Runtime) -> list[str]:
        problems: list[str] = []
        for option, port in (("http-port", self.http_port), ("grpc-port", self.grpc_port)):
            if not MIN_PORT <= port <= MAX_PORT:
                problems.append(f"{option}={port}: must be between {MIN_PORT} and {MAX_PORT}")
        if self.http_port == self.grpc_port:
            problems.append(f"http-port and grpc-port are both {self.http_port}: use two ports")
        if not 1 <= self.workers <= runtime.max_workers:
            problems.append(
                f"workers={self.workers}: {runtime.display_name} supports 1 to"
                f" {runtime.max_workers} worker processes"
            )
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
                " model-uri there, or deployment-mode=sidecar"
            )
        if self.image and not validation.is_image_reference(self.image):
            problems.append(
                f"image={quote(self.image)}: not an OCI image reference"
                " ([registry[:port]/]name[:tag][@sha256:digest])"
            )
        return problems

    def _resource_problems(self) -> list[str]:
        problems: list[str] = []
        for option, quantity in (("cpu", self.cpu), ("memory", self.memory)):
            if quantity and not validation.is_positive_quantity(quantity):
                problems.append(
                    f"{option}={quote(quantity)}: not a positive Kubernetes quantity"
                    " (for example 500m, 2, 512Mi, 4Gi)"
                )
        for option, count in (("gpu-count", self.gpu_count), ("fpga-count", self.fpga_count)):
            if count < 0:
                problems.append(f"{option}={count}: must be 0 (none) or more")
        if self.fpga_count and not self.fpga_resource:
            problems.append(
                "fpga-count is set but fpga-resource is empty: name the device plugin's resource"
                " (for example xilinx.com/fpga-xilinx_u250_gen3x16_xdma_shell_4_1-0)"
            )
        if self.fpga_resource and not validation.RESOURCE_NAME.fullmatch(self.fpga_resource):
            problems.append(
                f"fpga-resource={quote(self.fpga_resource)}: not an extended resource name"
                " (<domain>/<name>, for example amd.com/xilinx_u55c_gen3x16_xdma_base_3-0)"
            )
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
