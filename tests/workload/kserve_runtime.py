"""A case's KServe ClusterServingRuntime container, as it runs on this machine.

The args of `kserve-<server>.yaml` as `kserve_manifests.local_args` puts them
(`{{.Name}}` → the model's name, `{{.Annotations.modelFormat}}` → the case's
model format, `/mnt/models` → the built model's directory, the ports → free
loopback ports); its environment is the manifest's `env` plus MACHINE_ENVIRONMENT,
the bound this shared machine puts on vLLM. Nothing else is changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bench import kserve_manifests
from tests.workload.charm_cases import CharmCase

# vLLM's CPU engine (upstream's `--backend=auto` on a model vLLM knows) reserves 90% of the
# memory of the machine's first NUMA node for its KV cache unless this says how many GiB:
# 1 GiB here, on a 24 GiB machine shared with other work. On KServe, users set it in the
# InferenceService's env (the rock's README says so); servers without vLLM ignore it.
MACHINE_ENVIRONMENT = {"VLLM_CPU_KVCACHE_SPACE": "1"}


@dataclass(frozen=True)
class RuntimeContainer:
    """What KServe runs the server with: the container's args and environment."""

    args: tuple[str, ...]
    environment: dict[str, str]


def runtime_container(
    case: CharmCase, model_name: str, model_dir: Path, http_port: int, grpc_port: int
) -> RuntimeContainer:
    """The case's runtime container on this machine; skip when the manifests are not here."""
    directory = kserve_manifests.runtimes_dir()
    if directory is None:
        pytest.skip(kserve_manifests.missing_reason())
    document = kserve_manifests.manifest(directory, f"kserve-{case.runtime.server_module}")
    container = kserve_manifests.server_container(document)
    args = kserve_manifests.local_args(
        container["args"], model_name, case.model_format, model_dir, http_port, grpc_port
    )
    environment = {**kserve_manifests.container_environment(container), **MACHINE_ENVIRONMENT}
    return RuntimeContainer(args=tuple(args), environment=environment)
