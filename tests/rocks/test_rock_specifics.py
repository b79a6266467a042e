"""What is particular to some rocks: Java for PMML, PyTorch and vLLM builds for Hugging Face."""

from __future__ import annotations

import re
from typing import Any

from tests.rocks.rockcraft_projects import ROCKS, RockProject, spec_of

ROCKS_BY_NAME = {rock.name: rock for rock in ROCKS}
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
# vLLM's build for the CPU target, as upstream's CPU image makes it.
CPU_VLLM_BUILD = "VLLM_TARGET_DEVICE=cpu"
# Where the Hugging Face CPU and GPU rocks may differ, as (key, ...) paths.
HUGGINGFACE_VARIANT_KEYS = {
    ("name",),
    ("title",),
    ("summary",),
    ("services", "huggingfaceserver", "summary"),
    ("services", "huggingfaceserver", "environment", "SAFETENSORS_FAST_GPU"),
    ("parts", "huggingfaceserver", "override-build"),
    # vLLM's CPU build: its compilers and headers, and libnuma for its kernels.
    ("parts", "huggingfaceserver", "build-packages"),
    ("parts", "huggingfaceserver", "stage-packages"),
}


def flatten(value: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Every leaf of nested mappings, by its key path."""
    if not isinstance(value, dict):
        return {path: value}
    leaves: dict[tuple[str, ...], Any] = {}
    for key, child in value.items():
        leaves.update(flatten(child, (*path, str(key))))
    return leaves


def main_build(rock: RockProject) -> str:
    """The override-build of the part that builds the server."""
    return rock.parts[spec_of(rock).module]["override-build"]


def test_pmml_rock_carries_a_headless_java_runtime() -> None:
    rock = ROCKS_BY_NAME["pmmlserver"]
    java = spec_of(rock).java
    assert java is not None, "the PMML server runs its models in Java"
    part = rock.parts["java-runtime"]
    assert re.fullmatch(r"openjdk-\d+-jre-headless", java.package)
    assert part["stage-packages"] == [java.package]
    # The server runs `java` from PATH; no package script makes the alternatives link.
    assert (
        f'ln -sf "../../{java.home}/bin/java" "${{CRAFT_PART_INSTALL}}/usr/bin/java"'
        in (part["override-build"])
    )
    assert rock.services["pmmlserver"]["environment"]["JAVA_HOME"] == f"/{java.home}"


def test_only_the_pmml_rock_carries_java() -> None:
    with_java = [rock.name for rock in ROCKS if "java-runtime" in rock.parts]
    assert with_java == ["pmmlserver"]


def test_huggingface_cpu_and_gpu_rocks_differ_only_in_pytorch_and_vllm() -> None:
    cpu = flatten(ROCKS_BY_NAME["huggingfaceserver"].data)
    gpu = flatten(ROCKS_BY_NAME["huggingfaceserver-gpu"].data)
    differing = {key for key in cpu.keys() | gpu.keys() if cpu.get(key) != gpu.get(key)}
    assert differing == HUGGINGFACE_VARIANT_KEYS


def test_cpu_torch_exactly_where_asked(rock: RockProject) -> None:
    """The CPU swap runs in rocks whose entry asks for it, and nowhere else."""
    swaps = CPU_TORCH_INDEX in main_build(rock)
    assert swaps == (spec_of(rock).torch == "cpu")
    if swaps:
        assert "uv pip check" in main_build(rock), "the build proves nothing needs CUDA"


def test_cpu_vllm_exactly_where_asked(rock: RockProject) -> None:
    """The CPU build of vLLM runs in rocks whose entry asks for it, before the check."""
    build = main_build(rock)
    builds = CPU_VLLM_BUILD in build
    assert builds == (spec_of(rock).vllm == "cpu")
    if builds:
        assert build.index(CPU_VLLM_BUILD) < build.index("uv pip check")
        assert "libnuma1" in rock.parts[spec_of(rock).module]["stage-packages"]


def test_huggingface_rocks_cache_where_the_run_user_can_write() -> None:
    for name in ("huggingfaceserver", "huggingfaceserver-gpu"):
        environment = ROCKS_BY_NAME[name].services["huggingfaceserver"]["environment"]
        assert environment["HF_HOME"].startswith("/tmp/"), name
        assert environment["VLLM_CACHE_ROOT"].startswith("/tmp/"), name
