"""The AMD Inference Server's own options: its models, their size limit, its log, the firmware."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from model_server_charm.bounded import quote
from model_server_charm.config import CharmConfig, OptionGroup
from model_server_charm.families.amdinfer.models import (
    MODEL_URI,
    ModelEntry,
    ModelsError,
    parse_models,
)

# The charm spools a download in its own container before pushing it: 64 GiB at most.
MAX_DOWNLOAD_LIMIT_MIB = 64 * 1024


@dataclass(frozen=True)
class AmdinferOptions(OptionGroup):
    """The AMD Inference Server's models, their download limit, its log and the DPU firmware."""

    name = "amdinfer"

    models: str = ""
    log_requests: bool = False
    vart_firmware: str = ""
    download_limit_mib: int = 1024

    def problems(self, config: CharmConfig) -> list[str]:
        """Every problem with these options (all of them, none when valid)."""
        problems: list[str] = []
        entries: tuple[ModelEntry, ...] = ()
        try:
            entries = parse_models(self.models)
        except ModelsError as error:
            problems += error.problems
        if config.server.deployment_mode == "serverless":
            problems += [
                f"models: {entry.name!r} is a worker model: serverless mode loads models"
                " from storage only (give it a uri, platform, inputs and outputs)"
                for entry in entries
                if entry.is_worker
            ]
        if self.vart_firmware and not (
            self.vart_firmware.startswith("/") and MODEL_URI.fullmatch(self.vart_firmware)
        ):
            problems.append(
                f"vart-firmware={quote(self.vart_firmware)}: an absolute path in the server's"
                " container (a directory of DPU overlays, or one .xclbin)"
            )
        if not 1 <= self.download_limit_mib <= MAX_DOWNLOAD_LIMIT_MIB:
            problems.append(
                f"download-limit-mib={self.download_limit_mib}: from 1 to"
                f" {MAX_DOWNLOAD_LIMIT_MIB} (MiB per model file)"
            )
        return problems

    @property
    def download_limit_bytes(self) -> int:
        """The most bytes the charm downloads for one model file."""
        return self.download_limit_mib * 1024 * 1024

    @cached_property
    def entries(self) -> tuple[ModelEntry, ...]:
        """The models (valid: the configuration was validated when it was loaded)."""
        return parse_models(self.models)
