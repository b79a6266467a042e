"""A case's KServe ClusterServingRuntime container, as it runs on this machine.

The args of `kserve-<server>.yaml` with KServe's template fields filled in
(`{{.Name}}` → the model's name, `{{.Annotations.modelFormat}}` → the case's
model format), `/mnt/models` (where KServe's storage initializer puts the
model) → the built model's directory, and the ports replaced by free loopback
ports (added where the manifest leaves them to the server's 8080 and 8081);
its environment is the manifest's `env`. Nothing else is changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts.kserve_rocks import MODEL_DIR
from tests import kserve_manifests
from tests.workload.charm_cases import CharmCase

PORT_FLAGS = ("--http_port=", "--grpc_port=")


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
    filled = kserve_manifests.filled_args(container["args"], model_name, case.model_format)
    args = [
        arg.replace(MODEL_DIR, str(model_dir)) for arg in filled if not arg.startswith(PORT_FLAGS)
    ]
    ports = [f"--http_port={http_port}", f"--grpc_port={grpc_port}"]
    return RuntimeContainer(
        args=(*args, *ports), environment=kserve_manifests.container_environment(container)
    )
