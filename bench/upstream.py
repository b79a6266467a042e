"""KServe's own ClusterServingRuntime manifests: the upstream command, as KServe runs it.

A ClusterServingRuntime's container runs the server image's entrypoint,
``python -m <server>``, with the manifest's ``args``. KServe fills the Go
template fields (``{{.Name}}``: the InferenceService's name,
``{{.Annotations.modelFormat}}``: its model format) and its storage initializer
puts the model at ``/mnt/models``. On this machine the model is elsewhere and
the ports must be free ones on loopback, so ``--model_dir``, ``--http_port``
and ``--grpc_port`` take the bench's values; every other argument is the
manifest's, in the manifest's order.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.servers import REPO_ROOT

# The manifests: $KSERVE_RUNTIMES, else the kserve-runtimes directory beside the repository.
KSERVE_RUNTIMES_ENV = "KSERVE_RUNTIMES"
SHARED_RUNTIMES = REPO_ROOT.parent / "shared" / "kserve-runtimes"
SERVER_CONTAINER = "kserve-container"
NAME_FIELD = "{{.Name}}"
MODEL_FORMAT_FIELD = "{{.Annotations.modelFormat}}"
TEMPLATE_FIELD = re.compile(r"\{\{.*?\}\}")


class ManifestError(RuntimeError):
    """A manifest is missing or not the ClusterServingRuntime the bench expects."""


def manifests_dir() -> Path:
    """Where the ClusterServingRuntime manifests are."""
    configured = os.environ.get(KSERVE_RUNTIMES_ENV)
    return Path(configured) if configured else SHARED_RUNTIMES


@dataclass(frozen=True)
class ServingRuntimeManifest:
    """The kserve-container of one ClusterServingRuntime: its args, model formats and env."""

    server: str
    args: tuple[str, ...]
    model_formats: tuple[str, ...]
    environment: dict[str, str] = field(default_factory=dict[str, str])

    @classmethod
    def load(cls, server: str, directory: Path | None = None) -> ServingRuntimeManifest:
        """Read `kserve-<server>.yaml`; ManifestError says what is wrong with it."""
        path = (directory or manifests_dir()) / f"kserve-{server}.yaml"
        if not path.is_file():
            raise ManifestError(
                f"no ClusterServingRuntime manifest at {path} (set ${KSERVE_RUNTIMES_ENV}"
                " to the directory of KServe's kserve-<server>.yaml files)"
            )
        spec: dict[str, Any] = (yaml.safe_load(path.read_text()) or {}).get("spec", {})
        containers = [c for c in spec.get("containers", []) if c.get("name") == SERVER_CONTAINER]
        if len(containers) != 1:
            raise ManifestError(f"{path}: expected one container named {SERVER_CONTAINER}")
        container = containers[0]
        formats = [entry["name"] for entry in spec.get("supportedModelFormats", [])]
        return cls(
            server=server,
            args=tuple(str(arg) for arg in container.get("args", [])),
            model_formats=tuple(dict.fromkeys(formats)),
            environment={env["name"]: str(env["value"]) for env in container.get("env", [])},
        )

    def argv(
        self, model_name: str, model_format: str, model_dir: Path, http_port: int, grpc_port: int
    ) -> list[str]:
        """The server's arguments: the manifest's, filled in, with this machine's places."""
        # This machine's values, not KServe's; added when the manifest has none of a flag (the
        # server's default, /mnt/models or 8081, would apply).
        local = {
            "--model_dir": str(model_dir),
            "--http_port": str(http_port),
            "--grpc_port": str(grpc_port),
        }
        argv: list[str] = []
        for arg in self.args:
            filled = arg.replace(NAME_FIELD, model_name).replace(MODEL_FORMAT_FIELD, model_format)
            if unfilled := TEMPLATE_FIELD.search(filled):
                raise ManifestError(
                    f"kserve-{self.server}.yaml: the bench cannot fill {unfilled.group()} in {arg}"
                )
            flag, equals, _ = filled.partition("=")
            argv.append(f"{flag}={local[flag]}" if equals and flag in local else filled)
        present = {arg.partition("=")[0] for arg in argv}
        return [
            *argv,
            *(f"{flag}={value}" for flag, value in local.items() if flag not in present),
        ]
