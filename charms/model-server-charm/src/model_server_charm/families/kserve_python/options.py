"""The options of every KServe Python server's charm: its one model and its worker processes."""

from __future__ import annotations

from dataclasses import dataclass

from model_server_charm import validation
from model_server_charm.bounded import quote
from model_server_charm.config import CharmConfig, OptionGroup


@dataclass(frozen=True)
class KServeModelOptions(OptionGroup):
    """The options of every KServe Python server: one model, its name, the worker processes."""

    name = "kserve-model"

    model_name: str = "model"
    model_uri: str = ""
    workers: int = 2
    log_requests: bool = False

    def problems(self, config: CharmConfig) -> list[str]:
        """Every problem with these options (all of them, none when valid)."""
        problems: list[str] = []
        if not validation.MODEL_NAME.fullmatch(self.model_name):
            problems.append(
                f"model-name={quote(self.model_name)}: use lowercase letters, digits, '.', '_'"
                " or '-' (at most 63, starting and ending with a letter or digit)"
            )
        if not self.model_uri:
            if not config.names_the_model():
                problems.append(
                    "model-uri is not set: point it at the model"
                    " (gs://, s3://, https://, hf:// or an absolute path)"
                )
        elif problem := validation.model_uri_problem(self.model_uri):
            shown = validation.without_credentials(self.model_uri)
            problems.append(f"model-uri={quote(shown)}: {problem}")
        cap = config.max_workers()
        if not 1 <= self.workers <= cap:
            problems.append(
                f"workers={self.workers}: {config.runtime.display_name} runs 1 to {cap} worker"
                " processes as configured"
            )
        return problems
