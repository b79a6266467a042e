"""KServe's own ClusterServingRuntime manifests (v0.20.0), as the bench and the tests read them.

The rocks are drop-in images for these runtimes: the rock tests check their
args statically against rocks/rocks.yaml, the workload tests start the rocks'
services and the stand-in servers with them, and the benchmark runs the
servers with rocks/rocks.yaml's copy of them. The manifests are found in
$KSERVE_RUNTIMES_DIR (a kserve checkout's config/runtimes/), else in
../shared/kserve-runtimes/.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from scripts.kserve_rocks import MODEL_DIR
from tests.charms import ROOT

KSERVE_RUNTIMES_DIR_ENV = "KSERVE_RUNTIMES_DIR"
SHARED_RUNTIMES = ROOT.parent / "shared" / "kserve-runtimes"
# The template fields KServe fills in a runtime's args.
NAME_FIELD = "{{.Name}}"
MODEL_FORMAT_FIELD = "{{.Annotations.modelFormat}}"
# The container KServe runs the server in.
SERVER_CONTAINER = "kserve-container"
PORT_FLAGS = ("--http_port=", "--grpc_port=")


def runtimes_dir() -> Path | None:
    """The manifests' directory, or None when there is none."""
    configured = os.environ.get(KSERVE_RUNTIMES_DIR_ENV)
    directory = Path(configured) if configured else SHARED_RUNTIMES
    return directory if directory.is_dir() else None


def missing_reason() -> str:
    """Why a test that needs the manifests skips."""
    return (
        f"no KServe runtime manifests: set {KSERVE_RUNTIMES_DIR_ENV} (a kserve checkout's"
        f" config/runtimes) or put them in {SHARED_RUNTIMES}"
    )


def manifest(directory: Path, runtime_name: str) -> dict[str, Any]:
    """The ClusterServingRuntime `runtime_name` (e.g. kserve-sklearnserver)."""
    return yaml.safe_load((directory / f"{runtime_name}.yaml").read_text())


def server_container(document: dict[str, Any]) -> dict[str, Any]:
    """The manifest's kserve-container."""
    (container,) = [c for c in document["spec"]["containers"] if c["name"] == SERVER_CONTAINER]
    return container


def container_environment(container: dict[str, Any]) -> dict[str, str]:
    """The container's `env`, as variables."""
    return {variable["name"]: str(variable["value"]) for variable in container.get("env", [])}


def filled_args(args: Iterable[str], model_name: str, model_format: str) -> list[str]:
    """The args with KServe's template fields filled in."""
    fields = {NAME_FIELD: model_name, MODEL_FORMAT_FIELD: model_format}
    filled: list[str] = []
    for arg in args:
        for template, value in fields.items():
            arg = arg.replace(template, value)
        filled.append(arg)
    return filled


def local_args(
    args: Iterable[str],
    model_name: str,
    model_format: str,
    model_dir: Path,
    http_port: int,
    grpc_port: int,
) -> list[str]:
    """The args as a server on this machine takes them.

    KServe's template fields filled in, `/mnt/models` (where KServe's storage
    initializer puts the model) replaced by `model_dir`, and the ports replaced
    by `http_port` and `grpc_port` (added where the args leave them to the
    server's 8080 and 8081). Nothing else is changed.
    """
    filled = filled_args(args, model_name, model_format)
    kept = [
        arg.replace(MODEL_DIR, str(model_dir)) for arg in filled if not arg.startswith(PORT_FLAGS)
    ]
    return [*kept, f"--http_port={http_port}", f"--grpc_port={grpc_port}"]
