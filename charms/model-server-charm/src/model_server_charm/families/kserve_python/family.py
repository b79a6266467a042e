"""The `kserve-python` family: KServe's Python model servers, run through the rock's launcher.

The command line built here is the contract with the rocks (see
`rocks/common/kserve_launcher`): the workload tests and the benchmark start
real servers from exactly this command, so what is tested is what is deployed.
Every server of the family takes kserve's ModelServer flags plus
`--model_dir`; a runtime's own options add their flags and variables
(`options.py`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from model_server_charm.config import CharmConfig
from model_server_charm.credentials import credential_environment
from model_server_charm.families.base import READINESS_TIMEOUT, ServerFamily, Smoke, SmokeKind
from model_server_charm.families.kserve_python.options import KServeModelOptions
from model_server_charm.runtimes import Example, Protocol
from model_server_charm.server_client import (
    ModelServerClient,
    ServerAnswer,
    ServerUnreachableError,
)
from model_server_charm.serverless import KSERVE_HTTP_PORT, STORAGE_MOUNT, Predictor

# The rock's launcher runs the server module and makes /metrics sum every worker process.
LAUNCHER_MODULE = "kserve_launcher"
# Shipped by every KServe rock: uvicorn and kserve loggers at WARNING (no line per request),
# and at INFO (a line per request). Always given: kserve's built-in configuration is skipped
# when the root logger has a handler, as it has once PaddlePaddle 3.0.0 is imported.
QUIET_LOG_CONFIG = "/etc/kserve/log-config-quiet.yaml"
REQUESTS_LOG_CONFIG = "/etc/kserve/log-config-requests.yaml"
# prometheus_client multiprocess directory; the launcher empties it when the server starts.
METRICS_DIR = "/tmp/kserve-metrics"
# Where the launcher writes why the server exited, so the charm can say it in its status.
SERVER_ERROR_FILE = "/tmp/kserve-server-error.txt"
SERVER_ERROR_FILE_ENV = "KSERVE_LAUNCHER_ERROR_FILE"
# The launcher's mode in which each worker loads the model itself (runtimes.yaml).
WORKERS_LOAD_MODEL_ENV = "KSERVE_LAUNCHER_WORKERS_LOAD_MODEL"
# The OpenAI-compatible routes of generative models (kserve's default prefix, /openai).
OPENAI_COMPLETIONS_PATH = "/openai/v1/completions"
OPENAI_CHAT_PATH = "/openai/v1/chat/completions"
# Matches FastAPI's warning by its message, which is the same in fastapi 0.136 and 0.165.
FASTAPI_WARNING_FILTER = "ignore:ORJSONResponse is deprecated"


def infer_path(model_name: str, protocol: Protocol, chat: bool = False) -> str:
    """Where a KServe server takes an inference request of this protocol."""
    if protocol == "v1":
        return f"/v1/models/{model_name}:predict"
    if protocol == "openai":
        return OPENAI_CHAT_PATH if chat else OPENAI_COMPLETIONS_PATH
    return f"/v2/models/{model_name}/infer"


def ready_path(model_name: str) -> str:
    """The model's readiness (the server's own /v2/health/ready is always true on a predictor)."""
    return f"/v2/models/{model_name}/ready"


class KServePython(ServerFamily):
    """KServe's Python servers (`python3 -m kserve_launcher <module> …`)."""

    option_groups = (KServeModelOptions,)
    failure_file = SERVER_ERROR_FILE

    def command(self, config: CharmConfig) -> list[str]:
        """`python3 -m kserve_launcher <module>` with the model, ports, workers and logging."""
        model = config.group(KServeModelOptions)
        argv = [
            "python3",
            "-m",
            LAUNCHER_MODULE,
            self.runtime.server_module,
            f"--model_name={model.model_name}",
            # Without a model-uri another option names the model (huggingface's model-id).
            *([f"--model_dir={model.model_uri}"] if model.model_uri else []),
            f"--http_port={config.server.http_port}",
            f"--grpc_port={config.server.grpc_port}",
            f"--workers={model.worker_count(config)}",
            *config.server_arguments(),
        ]
        if not model.log_requests:
            argv += ["--enable_latency_logging=false", f"--log_config_file={QUIET_LOG_CONFIG}"]
        else:
            argv.append(f"--log_config_file={REQUESTS_LOG_CONFIG}")
        return argv

    def environment(self, config: CharmConfig, credentials: dict[str, str]) -> dict[str, str]:
        """Credentials, the runtime's fixed variables, then the charm's own."""
        # The charm's own variables come last: nothing from a secret overrides them.
        environment = {
            **credential_environment(credentials),
            **self.runtime.environment,
            **config.server_environment(),
            "PROMETHEUS_MULTIPROC_DIR": METRICS_DIR,
            SERVER_ERROR_FILE_ENV: SERVER_ERROR_FILE,
        }
        if self.runtime.workers_load_model:
            environment[WORKERS_LOAD_MODEL_ENV] = "true"
        if not config.group(KServeModelOptions).log_requests:
            # FastAPI warns on every response that kserve's ORJSONResponse is
            # deprecated (a UserWarning, re-armed per request): with quiet logs it
            # would be the only line each request still writes.
            environment["PYTHONWARNINGS"] = FASTAPI_WARNING_FILTER
        return environment

    def ready_path(self, config: CharmConfig) -> str:
        """The model's readiness (the server's /v2/health/ready is always true)."""
        return ready_path(config.group(KServeModelOptions).model_name)

    def infer(
        self,
        client: ModelServerClient,
        config: CharmConfig,
        protocol: Protocol,
        document: Mapping[str, Any],
        model: str,
    ) -> ServerAnswer:
        """POST to the model's v1/v2 path, or the OpenAI route (naming the served model)."""
        name = model or config.group(KServeModelOptions).model_name
        if protocol == "openai":
            # The OpenAI routes serve every model of the server: the body names it.
            document = {"model": name, **document}
        path = infer_path(name, protocol, chat="messages" in document)
        return client.post(path, json.dumps(document).encode())

    def smoke(self, client: ModelServerClient, config: CharmConfig) -> Smoke:
        """The upstream example for these options; without one, the model's metadata."""
        example = self.runtime.example_for(config.value)
        if example is None:
            name = config.group(KServeModelOptions).model_name
            ready = client.answers(self.ready_path(config))
            answer = client.get(f"/v2/models/{name}")
            described = answer if ready else ServerAnswer(503, answer.body, answer.latency_ms)
            return Smoke(described, "v2", None, "exact", "described")
        answer = self.infer(client, config, example.protocol, example.request, "")
        documented = example.expected is not None and self._serves(config, example)
        kind: SmokeKind = "documented" if documented else "well-formed"
        return Smoke(answer, example.protocol, example.expected, example.judge, kind)

    @staticmethod
    def _serves(config: CharmConfig, example: Example) -> bool:
        model_uri = config.group(KServeModelOptions).model_uri
        return bool(example.model_uri) and model_uri == example.model_uri

    def predictor(self, config: CharmConfig) -> Predictor:
        """The same command, with the two differences KServe imposes.

        The HTTP port is 8080 (KServe's routing and model agent assume it), and a
        remote `model-uri` becomes STORAGE_URI, which makes KServe's storage
        initializer download the model to /mnt/models before the server starts;
        an absolute path is a path inside the rock and is passed through.
        """
        model_uri = config.group(KServeModelOptions).model_uri
        # Downloaded by KServe when remote; a path in the rock, or no model-uri, as it is.
        remote = bool(model_uri) and not model_uri.startswith("/")
        grpc_port = config.server.grpc_port
        predictor = config.replace(
            http_port=KSERVE_HTTP_PORT,
            grpc_port=grpc_port if grpc_port != KSERVE_HTTP_PORT else KSERVE_HTTP_PORT + 1,
            model_uri=STORAGE_MOUNT if remote else model_uri,
        )
        environment = self.environment(predictor, {})
        if remote:
            environment["STORAGE_URI"] = model_uri
        return Predictor(command=self.command(predictor), environment=environment)

    def missing_model(self, config: CharmConfig) -> str:
        """The server answers, but not for the model: its model directory held no model file.

        Upstream's sklearn, xgb, lgb and predictive servers then start with
        an empty model repository (for models loaded later, by
        KServe's TrainedModels) and stay alive, answering the model's
        readiness 404, where a server still loading does not answer at all.
        """
        client = self.local_client(config, READINESS_TIMEOUT)
        try:
            answer = client.get(self.ready_path(config))
        except ServerUnreachableError:
            return ""
        if answer.status != HTTPStatus.NOT_FOUND or not client.answers(self.live_path(config)):
            return ""
        model = config.group(KServeModelOptions)
        formats = ", ".join(self.runtime.model_formats)
        return (
            f"{model.model_uri or 'the model directory'} holds no model file the server loads"
            f" ({formats}): it runs without model {model.model_name}; check model-uri and the"
            " files there"
        )

    def endpoint_paths(self, config: CharmConfig) -> dict[str, str]:
        """Each protocol's path for the model: v1, v2, and the OpenAI routes where served."""
        name = config.group(KServeModelOptions).model_name
        paths = {"ready": ready_path(name)}
        for protocol in self.runtime.protocols:
            if protocol == "openai":
                paths["openai-completions"] = OPENAI_COMPLETIONS_PATH
                paths["openai-chat-completions"] = OPENAI_CHAT_PATH
            else:
                paths[protocol] = infer_path(name, protocol)
        return paths

    def served(self, config: CharmConfig) -> str:
        """The model's name."""
        return config.group(KServeModelOptions).model_name

    def loading_message(self, config: CharmConfig) -> str:
        """Which model loads, from where."""
        model = config.group(KServeModelOptions)
        source = model.model_uri or str(config.value("model-id"))
        return f"loading model {model.model_name} from {source}"
