"""The model server as the charm runs it: its Pebble layer and its HTTP API.

The command line built here is the contract with the rock (see
`rocks/common/kserve_launcher`): the workload tests and the benchmark start
real servers from exactly this command, so what is tested is what is deployed.
"""

from __future__ import annotations

import http.client
import shlex
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Literal

import ops

from model_server_charm.bounded import MAX_ANSWER_BYTES
from model_server_charm.config import ServerConfig
from model_server_charm.credentials import ENVIRONMENT_VARIABLES, GCS_CREDENTIALS_KEY
from model_server_charm.runtimes import Protocol, Runtime

# The rock's launcher runs the server module and makes /metrics sum every worker process.
LAUNCHER_MODULE = "kserve_launcher"
# Shipped by every KServe rock: uvicorn and kserve loggers at WARNING (no line per request).
QUIET_LOG_CONFIG = "/etc/kserve/log-config-quiet.yaml"
# prometheus_client multiprocess directory; the launcher empties it when the server starts.
METRICS_DIR = "/tmp/kserve-metrics"
# Where the launcher writes why the server exited, so the charm can say it in its status.
SERVER_ERROR_FILE = "/tmp/kserve-server-error.txt"
SERVER_ERROR_FILE_ENV = "KSERVE_LAUNCHER_ERROR_FILE"

# Matches FastAPI's warning by its message, which is the same in fastapi 0.136 and 0.165.
FASTAPI_WARNING_FILTER = "ignore:ORJSONResponse is deprecated"

# Where the server finds a GCS service-account key from the storage-credentials secret.
GCS_CREDENTIALS_FILE = "/etc/kserve/credentials/gcs.json"

# The container the rock runs in (charmcraft.yaml `containers`), in the pod and in the StatefulSet.
WORKLOAD_CONTAINER = "server"

READY_CHECK = "ready"
ALIVE_CHECK = "alive"
CHECK_PERIOD = "10s"
CHECK_THRESHOLD = 3
# The user the rocks declare as run-user; the server never runs as root.
SERVER_USER = "_daemon_"


def server_command(runtime: Runtime, config: ServerConfig) -> list[str]:
    """The server's argv: the rock's launcher, the runtime's module and the charm's flags."""
    argv = [
        "python3",
        "-m",
        LAUNCHER_MODULE,
        runtime.server_module,
        f"--model_name={config.model_name}",
        f"--model_dir={config.model_uri}",
        f"--http_port={config.http_port}",
        f"--grpc_port={config.grpc_port}",
        f"--workers={config.workers}",
    ]
    if not config.log_requests:
        argv += ["--enable_latency_logging=false", f"--log_config_file={QUIET_LOG_CONFIG}"]
    return argv


def credential_environment(secret_content: dict[str, str]) -> dict[str, str]:
    """Turn storage-credential secret keys into the variables kserve-storage reads.

    Only the keys of `credentials.ENVIRONMENT_VARIABLES` become variables. A GCS
    service-account key is a file for Google's libraries: its variable names
    the file `credential_files` writes.
    """
    environment = {
        ENVIRONMENT_VARIABLES[key]: value
        for key, value in secret_content.items()
        if key in ENVIRONMENT_VARIABLES
    }
    if GCS_CREDENTIALS_KEY in secret_content:
        environment["GOOGLE_APPLICATION_CREDENTIALS"] = GCS_CREDENTIALS_FILE
    return environment


def credential_files(secret_content: dict[str, str]) -> dict[str, str]:
    """The files the server reads its credentials from: path -> content."""
    if GCS_CREDENTIALS_KEY not in secret_content:
        return {}
    return {GCS_CREDENTIALS_FILE: secret_content[GCS_CREDENTIALS_KEY]}


def server_environment(
    runtime: Runtime, config: ServerConfig, credentials: dict[str, str]
) -> dict[str, str]:
    """Everything the server process needs in its environment."""
    # The charm's own variables come last: nothing from a secret overrides them.
    environment = {
        **credential_environment(credentials),
        **runtime.environment,
        "PROMETHEUS_MULTIPROC_DIR": METRICS_DIR,
        SERVER_ERROR_FILE_ENV: SERVER_ERROR_FILE,
    }
    if not config.log_requests:
        # FastAPI warns on every response that kserve's ORJSONResponse is
        # deprecated (a UserWarning, re-armed per request): with quiet logs it
        # would be the only line each request still writes.
        environment["PYTHONWARNINGS"] = FASTAPI_WARNING_FILTER
    return environment


def ready_url(config: ServerConfig, host: str = "localhost") -> str:
    """The model's readiness URL (the server's own /v2/health/ready is always true)."""
    return f"http://{host}:{config.http_port}/v2/models/{config.model_name}/ready"


def live_url(config: ServerConfig, host: str = "localhost") -> str:
    """The server's liveness URL."""
    return f"http://{host}:{config.http_port}/v2/health/live"


def build_layer(
    runtime: Runtime, config: ServerConfig, environment: dict[str, str]
) -> ops.pebble.LayerDict:
    """The Pebble layer that runs the server with this configuration.

    The alive check starts disabled: the server opens its port only once the
    model has loaded, which can take minutes, and an armed liveness check would
    restart it mid-download. The charm starts the check once the model is ready.
    """
    return {
        "summary": f"{runtime.display_name} model server",
        "services": {
            runtime.service_name: {
                "override": "replace",
                "summary": f"KServe {runtime.display_name} server",
                "command": shlex.join(server_command(runtime, config)),
                "startup": "enabled",
                "user": SERVER_USER,
                "environment": environment,
                "on-check-failure": {ALIVE_CHECK: "restart"},
            }
        },
        "checks": {
            READY_CHECK: {
                "override": "replace",
                "level": "ready",
                "period": CHECK_PERIOD,
                "threshold": CHECK_THRESHOLD,
                "http": {"url": ready_url(config)},
            },
            ALIVE_CHECK: {
                "override": "replace",
                "level": "alive",
                "startup": "disabled",
                "period": CHECK_PERIOD,
                "threshold": CHECK_THRESHOLD,
                "http": {"url": live_url(config)},
            },
        },
    }


class ServerUnreachableError(Exception):
    """The server did not answer at all (not listening, or timed out)."""


@dataclass(frozen=True)
class ServerAnswer:
    """One HTTP answer from the model server."""

    status: int
    body: str
    latency_ms: float

    @property
    def ok(self) -> bool:
        """Whether the server accepted the request."""
        return 200 <= self.status < 300


class ModelServerClient:
    """A small client for the KServe v1/v2 REST API of one served model."""

    def __init__(self, base_url: str, model_name: str, timeout: float = 30):
        self.base_url = base_url.rstrip("/")
        self.model_name = model_name
        self.timeout = timeout

    @classmethod
    def on_port(
        cls, port: int, model_name: str, host: str = "localhost", timeout: float = 30
    ) -> ModelServerClient:
        """A client for a server in this pod (sidecar mode) or on this machine (tests)."""
        return cls(f"http://{host}:{port}", model_name, timeout)

    def infer_path(self, protocol: Protocol) -> str:
        """The endpoint a request of this protocol goes to."""
        if protocol == "v1":
            return f"/v1/models/{self.model_name}:predict"
        return f"/v2/models/{self.model_name}/infer"

    def infer(self, protocol: Protocol, body: bytes) -> ServerAnswer:
        """Send one inference request and return the server's answer, whatever its status."""
        return self._request("POST", self.infer_path(protocol), body)

    def model_ready(self) -> bool:
        """Whether the model is loaded and answering."""
        try:
            return self._request("GET", f"/v2/models/{self.model_name}/ready").ok
        except ServerUnreachableError:
            return False

    def _request(
        self, method: Literal["GET", "POST"], path: str, body: bytes | None = None
    ) -> ServerAnswer:
        request = urllib.request.Request(
            self.base_url + path,
            data=body,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status = response.status
                text = response.read(MAX_ANSWER_BYTES).decode(errors="replace")
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read(MAX_ANSWER_BYTES).decode(errors="replace")
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            raise ServerUnreachableError(f"{self.base_url}{path}: {error}") from error
        latency_ms = (time.perf_counter() - started) * 1000
        return ServerAnswer(status=status, body=text, latency_ms=latency_ms)
