"""The AMD Inference Server's own options: its models, its per-request log, the DPU firmware."""

from __future__ import annotations

from dataclasses import dataclass

from model_server_charm.bounded import quote
from model_server_charm.config import CharmConfig, OptionGroup
from model_server_charm.families.amdinfer.models import (
    MODEL_URI,
    ModelEntry,
    ModelsError,
    parse_models,
)


@dataclass(frozen=True)
class AmdinferOptions(OptionGroup):
    """The AMD Inference Server's models, its per-request log and the DPU firmware."""

    name = "amdinfer"

    models: str = ""
    log_requests: bool = False
    vart_firmware: str = ""

    def problems(self, config: CharmConfig) -> list[str]:
        """Every problem with these options (all of them, none when valid)."""
        problems: list[str] = []
        try:
            entries = parse_models(self.models)
        except ModelsError as error:
            return error.problems
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
        return problems

    @property
    def entries(self) -> tuple[ModelEntry, ...]:
        """The models (valid: the configuration was validated when it was loaded)."""
        return parse_models(self.models)
