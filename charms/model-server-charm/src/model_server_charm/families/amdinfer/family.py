"""The `amdinfer` family: the AMD Inference Server (Proteus, `amdinfer-server`).

A C++ server with a KServe-style model repository: the charm runs it through
the rock's `amdinfer-serve` wrapper (which keeps its per-request log off the
disk), loads every model of the `models` option through the server's own
repository and worker APIs (`repository`), and checks every request
it sends against what would crash the server (`api`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ops

from model_server_charm.bounded import quote
from model_server_charm.config import CharmConfig
from model_server_charm.credentials import credential_environment
from model_server_charm.families.amdinfer import api
from model_server_charm.families.amdinfer.models import REPOSITORY_NAME
from model_server_charm.families.amdinfer.options import AmdinferOptions
from model_server_charm.families.amdinfer.repository import ModelRepository
from model_server_charm.families.base import ActionHandler, ServerFamily, Smoke
from model_server_charm.runtimes import Protocol
from model_server_charm.server_client import ModelServerClient, RequestRefusedError, ServerAnswer
from model_server_charm.serverless import KSERVE_HTTP_PORT, STORAGE_MOUNT, Predictor
from model_server_charm.workload import Workload

# The rock's wrapper around amdinfer-server (rocks/proteus-server/bin/amdinfer-serve).
SERVE = "/usr/local/bin/amdinfer-serve"
# The model repository: the rock's default, where KServe's model agent puts models too.
REPOSITORY = STORAGE_MOUNT
# The rock's default place for VART's DPU overlays (xclbin files).
VART_FIRMWARE = "/opt/xilinx/overlaybins"


class Amdinfer(ServerFamily):
    """The AMD Inference Server, run by the rock's `amdinfer-serve`."""

    option_groups = (AmdinferOptions,)

    def command(self, config: CharmConfig) -> list[str]:
        """amdinfer-serve on the repository, loading what is in it at start, on the ports."""
        return [
            SERVE,
            f"--model-repository={REPOSITORY}",
            # After a crash Pebble restarts it: the charm's models come back at once.
            "--repository-load-existing",
            f"--http-port={config.server.http_port}",
            f"--grpc-port={config.server.grpc_port}",
        ]

    def environment(self, config: CharmConfig, credentials: dict[str, str]) -> dict[str, str]:
        """The rock's variables (HOME, XRT, VART, AKS), the firmware and the log switch."""
        options = config.group(AmdinferOptions)
        return {
            **credential_environment(credentials),
            **self.runtime.environment,
            "XLNX_VART_FIRMWARE": options.vart_firmware or VART_FIRMWARE,
            "AMDINFER_SERVER_LOG": "stdout" if options.log_requests else "off",
        }

    def ready_path(self, config: CharmConfig) -> str:
        """The server's readiness (each model's is in the status, `model_readiness`)."""
        return "/v2/health/ready"

    def infer(
        self,
        client: ModelServerClient,
        config: CharmConfig,
        protocol: Protocol,
        document: Mapping[str, Any],
        model: str,
    ) -> ServerAnswer:
        """A v2 request, sent only once it cannot crash the server (`api`)."""
        entries = config.group(AmdinferOptions).entries
        return api.infer(client, entries, document, model)

    def smoke(self, client: ModelServerClient, config: CharmConfig) -> Smoke:
        """The echo model through the cplusplus worker: 3 in, 4 out."""
        answer = api.echo(client)
        return Smoke(answer, "v2", api.ECHO_EXPECTED, "exact", "documented")

    def extra_actions(self) -> Mapping[str, ActionHandler]:
        """load-model, unload-model (repository entries) and list-models."""
        return {
            "load-model": lambda client, _, params: api.repository_action(
                client, _model_name(params), "load"
            ),
            "unload-model": lambda client, _, params: api.repository_action(
                client, _model_name(params), "unload"
            ),
            "list-models": lambda client, _, __: api.list_models(client),
        }

    def converge_models(
        self, workload: Workload, client: ModelServerClient, config: CharmConfig
    ) -> ops.StatusBase | None:
        """The models option's models in the repository and loaded, the others gone."""
        options = config.group(AmdinferOptions)
        repository = ModelRepository(workload, client, REPOSITORY, options.download_limit_bytes)
        return repository.converge(options.entries)

    def predictor(self, config: CharmConfig) -> Predictor:
        """The server on KServe's port, told it is a multi-model server as KServe expects."""
        predictor = config.replace(http_port=KSERVE_HTTP_PORT)
        environment = {**self.environment(predictor, {}), "MULTI_MODEL_SERVER": "true"}
        # One TrainedModel per model: KServe's model agent fetches it into the repository.
        trained = [
            {"name": e.name, "uri": e.uri, "framework": e.framework, "memory": e.memory}
            for e in config.group(AmdinferOptions).entries
        ]
        return Predictor(self.command(predictor), environment, trained_models=trained)

    def served(self, config: CharmConfig) -> str:
        """The models, by name."""
        names = [entry.name for entry in config.group(AmdinferOptions).entries]
        return f"models {', '.join(names)}" if names else "the server (no models set)"


def _model_name(params: Mapping[str, Any]) -> str:
    name = str(params.get("name", ""))
    if not REPOSITORY_NAME.fullmatch(name):
        raise RequestRefusedError(f"name={quote(name)}: a model of the repository (list-models)")
    return name
