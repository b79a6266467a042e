"""The options of every KServe Python server's charm: its one model and its worker processes."""

from __future__ import annotations

from dataclasses import dataclass

from model_server_charm import validation
from model_server_charm.bounded import quote
from model_server_charm.config import CharmConfig, OptionGroup
from model_server_charm.families.kserve_python import workers as worker_rule


@dataclass(frozen=True)
class KServeModelOptions(OptionGroup):
    """The options of every KServe Python server: one model, its name, the worker processes."""

    name = "kserve-model"

    model_name: str = "model"
    model_uri: str = ""
    # 0: one worker per CPU of the pod (families/kserve_python/workers.py).
    workers: int = 0
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
        if not 0 <= self.workers <= cap:
            problems.append(
                f"workers={self.workers}: {config.runtime.display_name} runs 1 to {cap} worker"
                " processes as configured (0: one per CPU of the pod)"
            )
        return problems

    def worker_count(self, config: CharmConfig) -> int:
        """The worker processes the server runs: `workers`, or by the pod's CPUs when it is 0."""
        if self.workers:
            return self.workers
        return worker_rule.default_workers(
            config.server.cpu, config.max_workers(), worker_rule.node_cpus()
        )
