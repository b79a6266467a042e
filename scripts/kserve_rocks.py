"""The KServe rocks as data: rocks/rocks.yaml, read into typed records.

Every rock listed there is rendered from the shared templates by
scripts/render_rockcraft.py, and the rock tests cover exactly these rocks.
Rocks of another shape (rocks/proteus-server) are not listed and keep their
own hand-written rockcraft.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ROCKS_DIR = ROOT / "rocks"
ROCKS_DATA = ROCKS_DIR / "rocks.yaml"
# Every KServe rock serves the model KServe's storage initializer puts here.
MODEL_DIR = "/mnt/models"
# Always on the server's command line, so that container arguments that only
# tune the server (`--workers=2`) still serve the model in MODEL_DIR.
FIXED_ARGS = ("--model_name=model", f"--model_dir={MODEL_DIR}")


@dataclass(frozen=True)
class ModelFormat:
    """A model format a KServe runtime declares (spec.supportedModelFormats)."""

    name: str
    version: str
    auto_select: bool


@dataclass(frozen=True)
class KServeRuntime:
    """KServe's own ClusterServingRuntime that the rock is a drop-in image for."""

    name: str
    model_formats: tuple[ModelFormat, ...]
    protocols: tuple[str, ...]
    args: tuple[str, ...]


@dataclass(frozen=True)
class JavaRuntime:
    """A Java runtime the rock stages, and where its java binary lives."""

    package: str
    home: str

    @property
    def java_home(self) -> str:
        """JAVA_HOME in the rock."""
        return f"/{self.home}"


@dataclass(frozen=True)
class KServeRock:
    """One rock built from a KServe Python server (one entry of rocks.yaml)."""

    name: str
    module: str
    title: str
    summary: str
    serves: str
    model_files: str
    charm: str
    default_args: tuple[str, ...]
    modules: tuple[str, ...]
    stage_packages: tuple[str, ...]
    environment: dict[str, str]
    java: JavaRuntime | None
    torch: str | None
    vllm: str | None
    notes: tuple[str, ...]
    runtime: KServeRuntime
    # {PyPI name: version}: the model libraries as upstream's uv.lock pins them.
    frameworks: dict[str, str]
    # The pyproject.toml dependency groups that test the server on those versions.
    test_groups: tuple[str, ...]

    @property
    def fixed_args(self) -> tuple[str, ...]:
        """Arguments the service always passes, before the replaceable defaults."""
        return FIXED_ARGS


@dataclass(frozen=True)
class KServeRocks:
    """rocks.yaml: the KServe release and every rock built from it."""

    kserve_version: str
    rocks: dict[str, KServeRock]

    @property
    def source_tag(self) -> str:
        """The kserve/kserve git tag every rock is built from."""
        return f"v{self.kserve_version}"


def _runtime(entry: dict[str, Any]) -> KServeRuntime:
    return KServeRuntime(
        name=entry["name"],
        model_formats=tuple(
            ModelFormat(
                name=model_format["name"],
                version=str(model_format["version"]),
                auto_select=bool(model_format["auto-select"]),
            )
            for model_format in entry["model-formats"]
        ),
        protocols=tuple(entry["protocols"]),
        args=tuple(entry["args"]),
    )


def _rock(name: str, entry: dict[str, Any]) -> KServeRock:
    java = entry.get("java")
    return KServeRock(
        name=name,
        module=entry["module"],
        title=entry["title"],
        summary=entry["summary"],
        serves=entry["serves"],
        model_files=entry["model-files"],
        charm=entry["charm"],
        default_args=tuple(entry["default-args"]),
        modules=tuple(entry.get("modules", [entry["module"]])),
        stage_packages=tuple(entry.get("stage-packages", [])),
        environment={key: str(value) for key, value in entry.get("environment", {}).items()},
        java=JavaRuntime(package=java["package"], home=java["home"]) if java else None,
        torch=entry.get("torch"),
        vllm=entry.get("vllm"),
        notes=tuple(entry.get("notes", [])),
        runtime=_runtime(entry["kserve-runtime"]),
        frameworks={name: str(version) for name, version in entry["frameworks"].items()},
        test_groups=tuple(entry.get("test-groups", [])),
    )


def load_kserve_rocks(path: Path = ROCKS_DATA) -> KServeRocks:
    """Read rocks.yaml (YAML anchors let a variant share its base rock's entry)."""
    data = yaml.safe_load(path.read_text())
    return KServeRocks(
        kserve_version=str(data["kserve-version"]),
        rocks={name: _rock(name, entry) for name, entry in data["rocks"].items()},
    )
