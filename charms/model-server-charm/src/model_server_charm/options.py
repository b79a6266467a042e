"""Option groups: the options only some charms have, each group a dataclass of its own.

Every charm has the shared options (`config.ServerConfig`). On top of them a
charm has its server family's group (e.g. the KServe servers' model options)
and the groups its runtime names in runtimes.yaml (`options:` and
`hardware:`). A group is declared in the charmcraft.yaml of those charms only,
validated here, and says itself how it reaches the server (flags, environment
variables, container resources), so no code outside it asks which runtime it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from model_server_charm import validation
from model_server_charm.bounded import quote
from model_server_charm.config import CharmConfig, OptionGroup

GPU_RESOURCE = "nvidia.com/gpu"
GIB = 1024**3


@dataclass(frozen=True)
class ThreadOptions(OptionGroup):
    """`nthread`: the framework's threads per prediction (xgboost, lightgbm, predictive)."""

    name = "threads"

    nthread: int = 1

    def problems(self, config: CharmConfig) -> list[str]:
        """Every problem with these options (all of them, none when valid)."""
        if self.nthread < 1:
            return [f"nthread={self.nthread}: must be 1 or more"]
        return []

    def server_arguments(self) -> list[str]:
        """Flags these options add to the server's command line."""
        return [f"--nthread={self.nthread}"]

    def server_environment(self) -> dict[str, str]:
        """Variables these options add: OpenMP's thread count, the same as `--nthread`.

        lgbserver passes `--nthread` only to the booster it loads, which LightGBM ignores
        for a model file ("Ignoring params argument"), and predicts with OpenMP's default, a
        thread per CPU, in every worker; the variable also holds the BLAS libraries numpy
        and scikit-learn use to it.
        """
        return {"OMP_NUM_THREADS": str(self.nthread)}


@dataclass(frozen=True)
class PredictProbaOptions(OptionGroup):
    """`predict-proba`: answer class probabilities instead of classes (PREDICT_PROBA)."""

    name = "predict-proba"

    predict_proba: bool = False

    def server_environment(self) -> dict[str, str]:
        """Variables these options add to the server's environment."""
        return {"PREDICT_PROBA": "true"} if self.predict_proba else {}


@dataclass(frozen=True)
class FrameworkOptions(OptionGroup):
    """`framework`: which library the predictive server loads the model with."""

    name = "framework"

    FRAMEWORKS: ClassVar[tuple[str, ...]] = ("sklearn", "xgboost", "lightgbm")

    framework: str = "sklearn"

    def problems(self, config: CharmConfig) -> list[str]:
        """Every problem with these options (all of them, none when valid)."""
        if self.framework not in self.FRAMEWORKS:
            return [f"framework={quote(self.framework)}: use one of {', '.join(self.FRAMEWORKS)}"]
        return []

    def server_arguments(self) -> list[str]:
        """Flags these options add to the server's command line."""
        return [f"--framework={self.framework}"]


@dataclass(frozen=True)
class HuggingFaceOptions(OptionGroup):
    """The Hugging Face server's model id, task, backend, dtype, context length, KV cache."""

    name = "huggingface"
    # The tasks huggingfaceserver serves (its --task values); generative ones answer
    # on the OpenAI-compatible routes, the others on v1/v2.
    TASKS: ClassVar[tuple[str, ...]] = (
        "sequence_classification",
        "token_classification",
        "fill_mask",
        "text_embedding",
        "text_generation",
        "text2text_generation",
        "time_series_forecast",
    )
    BACKENDS: ClassVar[tuple[str, ...]] = ("auto", "huggingface", "vllm")
    DTYPES: ClassVar[tuple[str, ...]] = ("auto", "float32", "float16", "bfloat16", "float", "half")

    model_id: str = ""
    task: str = ""
    # The default rock is the CPU one, where vLLM's engine cannot run and `auto`
    # would pick it whenever it can be imported.
    backend: str = "huggingface"
    dtype: str = "auto"
    max_model_len: int = 0
    # GiB for vLLM's KV cache on the CPU; 0: vLLM's own (90% of the node's first NUMA node).
    kv_cache_space: int = 0

    def problems(self, config: CharmConfig) -> list[str]:
        """Every problem with these options (all of them, none when valid)."""
        problems: list[str] = []
        if self.kv_cache_space < 0:
            problems.append(
                f"kv-cache-space={self.kv_cache_space}: must be 0 (vLLM's own) or more GiB"
            )
        elif self.kv_cache_space and not _fits_in_memory(
            self.kv_cache_space, config.server.memory
        ):
            problems.append(
                f"kv-cache-space={self.kv_cache_space} GiB does not fit in"
                f" memory={quote(config.server.memory)}: the KV cache is part of the server"
                " container's memory, beside the model's weights"
            )
        if self.model_id and not validation.HF_MODEL_ID.fullmatch(self.model_id):
            problems.append(
                f"model-id={quote(self.model_id)}: not a Hugging Face model id"
                " (<organisation>/<name>, for example distilbert/distilbert-base-uncased)"
            )
        for option, value, choices in (
            ("task", self.task, ("", *self.TASKS)),
            ("backend", self.backend, self.BACKENDS),
            ("dtype", self.dtype, self.DTYPES),
        ):
            if value not in choices:
                shown = ", ".join(choice or "(empty: from the model)" for choice in choices)
                problems.append(f"{option}={quote(value)}: use one of {shown}")
        if self.max_model_len < 0:
            problems.append(f"max-model-len={self.max_model_len}: must be 0 (the model's) or more")
        return problems

    def server_arguments(self) -> list[str]:
        """Flags these options add to the server's command line."""
        arguments = [f"--backend={self.backend}", f"--dtype={self.dtype}"]
        if self.model_id:
            arguments.append(f"--model_id={self.model_id}")
        if self.task:
            arguments.append(f"--task={self.task}")
        if self.max_model_len:
            arguments.append(f"--max_model_len={self.max_model_len}")
        return arguments

    def server_environment(self) -> dict[str, str]:
        """The KV cache size of vLLM on the CPU, when set (vLLM on CUDA does not read it)."""
        return {"VLLM_CPU_KVCACHE_SPACE": str(self.kv_cache_space)} if self.kv_cache_space else {}

    def names_the_model(self) -> bool:
        """A model id is a model (the server downloads it from the Hub)."""
        return bool(self.model_id)


@dataclass(frozen=True)
class PaddleOptions(OptionGroup):
    """`eager-delete-tensor-gb`: when Paddle frees a request's intermediate tensors.

    Paddle's executor on the CPU hands each dead intermediate tensor to a collector
    thread of its own, which spins while it waits for the next (Paddle's default, 0).
    Measured on upstream's paddleserver with the charm's 2 workers and a small model,
    keeping them for the next request instead (-1) served 10-23 % more requests per
    second; a ResNet-50 kept 100 MB more per worker at batch 1 (314 MB at batch 8).
    """

    name = "paddle"
    KEEP: ClassVar[float] = -1.0

    eager_delete_tensor_gb: float = KEEP

    def problems(self, config: CharmConfig) -> list[str]:
        """Every problem with these options (all of them, none when valid)."""
        gib = self.eager_delete_tensor_gb
        if not math.isfinite(gib) or (gib < 0 and gib != self.KEEP):
            return [
                f"eager-delete-tensor-gb={gib}: must be -1 (keep them for the next request),"
                " 0 (free each at once) or more GiB (free them in batches of that size)"
            ]
        if gib > 0 and not _fits_in_memory(gib, config.server.memory):
            return [
                f"eager-delete-tensor-gb={gib} GiB does not fit in"
                f" memory={quote(config.server.memory)}: the tensors a worker keeps before"
                " freeing them are part of the server container's memory"
            ]
        return []

    def server_environment(self) -> dict[str, str]:
        """Paddle's own flag, which it reads from the environment at import."""
        return {"FLAGS_eager_delete_tensor_gb": repr(float(self.eager_delete_tensor_gb))}


def _fits_in_memory(gib: float, memory: str) -> bool:
    """Whether `gib` GiB is less than the container's memory limit (or there is none).

    A limit that is not a valid quantity is reported with the memory option.
    """
    if not validation.is_positive_quantity(memory):
        return True
    return gib * GIB < validation.exact_quantity(memory)


@dataclass(frozen=True)
class GpuOptions(OptionGroup):
    """`gpu-count`: GPUs for the server container."""

    name = "gpu"

    gpu_count: int = 0

    def problems(self, config: CharmConfig) -> list[str]:
        """Every problem with these options (all of them, none when valid)."""
        if self.gpu_count < 0:
            return [f"gpu-count={self.gpu_count}: must be 0 (none) or more"]
        return []

    def extended_resources(self) -> dict[str, int]:
        """Devices these options ask for (resource name -> count)."""
        return {GPU_RESOURCE: self.gpu_count} if self.gpu_count > 0 else {}


@dataclass(frozen=True)
class FpgaOptions(OptionGroup):
    """`fpga-count` of the device plugin's `fpga-resource`, for the server container."""

    name = "fpga"

    fpga_count: int = 0
    fpga_resource: str = ""

    def problems(self, config: CharmConfig) -> list[str]:
        """Every problem with these options (all of them, none when valid)."""
        problems: list[str] = []
        if self.fpga_count < 0:
            problems.append(f"fpga-count={self.fpga_count}: must be 0 (none) or more")
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

    def extended_resources(self) -> dict[str, int]:
        """Devices these options ask for (resource name -> count)."""
        if self.fpga_count > 0 and self.fpga_resource:
            return {self.fpga_resource: self.fpga_count}
        return {}


# The groups a runtime names in runtimes.yaml (`options:` and `hardware:`).
RUNTIME_GROUPS = {
    kind.name: kind
    for kind in (
        ThreadOptions,
        PredictProbaOptions,
        FrameworkOptions,
        HuggingFaceOptions,
        PaddleOptions,
    )
}
HARDWARE_GROUPS = {kind.name: kind for kind in (GpuOptions, FpgaOptions)}
