"""What the bench compares for one runtime, whatever its server family (`Comparison`).

A comparison is upstream's default command and the charm's, for one runtime
and one model: the KServe Python servers' (`bench.commands`) and the AMD
Inference Server's (`bench.amdinfer`) each build their own model, commands and
request, and say where their server came from and what it counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from prometheus_client.samples import Sample

from bench.servers import Command, Endpoint
from model_server_charm.runtimes import Protocol as InferenceProtocol
from model_server_charm.runtimes import Runtime

UPSTREAM_LABEL = "upstream default"
CHARM_LABEL = "charm default"
# The charm's command at a worker count other than its default: "charm, 3 workers".
WORKER_LABEL_PREFIX = "charm, "


class ComparisonError(ValueError):
    """The runtime or framework asked for is not one the bench can compare here."""


class ComparisonSkippedError(Exception):
    """The runtime can be compared, but not on this machine as it is (the reason)."""


class Commands(Protocol):
    """What the bench runs for one runtime: its commands and the charm's worker counts."""

    @property
    def runtime(self) -> Runtime:
        """The runtime compared."""
        ...

    @property
    def charm_workers(self) -> int | None:
        """The worker processes of the charm's default command (None: no such option)."""
        ...

    @property
    def max_workers(self) -> int | None:
        """The most worker processes the charm runs with these options (None: no such option)."""
        ...

    def upstream_command(self, endpoint: Endpoint, scratch: Path) -> Command:
        """Upstream's default command, as it runs on this machine."""
        ...

    def charm_command(
        self, endpoint: Endpoint, scratch: Path, label: str = CHARM_LABEL, workers: int = 0
    ) -> Command:
        """The charm's command (with `workers` worker processes when not 0), on this machine."""
        ...

    def lever_commands(self, endpoint: Endpoint, scratch: Path) -> list[Command]:
        """The steps from upstream's command to the charm's, one lever at a time."""
        ...


class Comparison(Commands, Protocol):
    """One runtime's two commands, the model they serve and the request they get."""

    @property
    def model_name(self) -> str:
        """The name the model is served under."""
        ...

    @property
    def protocol(self) -> InferenceProtocol:
        """The inference protocol of the request."""
        ...

    @property
    def request_json(self) -> str:
        """The request body, exactly as sent."""
        ...

    def describe(self) -> list[str]:
        """What the run serves and sends, for the report's introduction."""
        ...

    def build_model(self, scratch: Path) -> Path:
        """Write the model (or model repository) under `scratch`; where it is."""
        ...

    def ceiling(self, model_dir: Path, seconds: float) -> float | None:
        """The framework's in-process rate on the request's rows (None: no such thing)."""
        ...

    def origin(self, pid: int) -> str:
        """Which server the running process `pid` (and its tree) runs, read from the process."""
        ...

    def served_count(self, samples: Sequence[Sample]) -> int:
        """How many inference requests the server's /metrics says it answered."""
        ...


def worker_label(workers: int) -> str:
    """How the report names the charm's command at another worker count."""
    return f"{WORKER_LABEL_PREFIX}{workers} worker{'s' if workers > 1 else ''}"


def commands_to_run(
    comparison: Commands,
    endpoint: Endpoint,
    scratch: Path,
    worker_counts: Sequence[int],
    levers: bool,
) -> tuple[list[Command], list[str]]:
    """Upstream's default, the charm's default (or the levers), and the charm at each count.

    Returns the commands and a note for each worker count that is not run: one
    over the charm's cap, the default's own count (already run), or any count
    for a server without worker processes.
    """
    if levers:
        commands = comparison.lever_commands(endpoint, scratch)
    else:
        commands = [
            comparison.upstream_command(endpoint, scratch),
            comparison.charm_command(endpoint, scratch),
        ]
    notes: list[str] = []
    cap, default = comparison.max_workers, comparison.charm_workers
    for workers in worker_counts:
        if cap is None:
            notes.append(
                f"--workers {workers}: {comparison.runtime.display_name} has no worker processes"
                " option in the charm; not run"
            )
        elif workers > cap:
            notes.append(
                f"--workers {workers}: the charm runs {comparison.runtime.display_name}"
                f" with at most {cap} (runtimes.yaml max-workers and the charm's options); not run"
            )
        elif workers != default:
            label = worker_label(workers)
            commands.append(comparison.charm_command(endpoint, scratch, label, workers))
    return commands, notes
