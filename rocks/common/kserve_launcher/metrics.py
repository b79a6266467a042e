"""The /metrics registry every server process exposes (see the package docstring).

Import this module only once PROMETHEUS_MULTIPROC_DIR is in the environment:
prometheus_client chooses between per-process and file-backed metric values
when it is first imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import kserve.protocol.rest.server as rest_server
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

# Set by the server's first process and inherited by its workers, so all sum the same tree.
ROOT_PID_ENV = "KSERVE_LAUNCHER_ROOT_PID"
# Process metrics that describe the server as a whole through its first process.
FIRST_PROCESS_ONLY = frozenset({"process_start_time_seconds", "process_max_fds"})


def mark_server_root() -> None:
    """Record this process as the root of the server's process tree (first process only)."""
    os.environ[ROOT_PID_ENV] = str(os.getpid())


def serve_all_workers_metrics() -> None:
    """Make kserve's /metrics handler in this process expose every process's metrics."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    PlatformCollector(registry=registry)
    registry.register(ProcessTreeCollector(int(os.environ[ROOT_PID_ENV])))
    # metrics_handler reads this module global on every request.
    rest_server.REGISTRY = registry


class ProcessTreeCollector(Collector):
    """The standard `process_*` metrics, summed over a process and all its descendants."""

    def __init__(self, root_pid: int, proc: str = "/proc") -> None:
        self.root_pid = root_pid
        self.proc = proc

    def collect(self) -> Iterable[Metric]:
        """Read each process with prometheus_client's own collector, then add them up."""
        totals: dict[str, Metric] = {}
        for pid in self._tree():
            one_process = ProcessCollector(pid=_always(pid), proc=self.proc, registry=None)
            for family in one_process.collect():
                if family.name not in totals:
                    totals[family.name] = family
                elif family.name not in FIRST_PROCESS_ONLY:
                    sample = totals[family.name].samples[0]
                    summed = sample._replace(value=sample.value + family.samples[0].value)
                    totals[family.name].samples[0] = summed
        return list(totals.values())

    def _tree(self) -> list[int]:
        """List the root, then its descendants, from every process's parent pid in /proc."""
        children: dict[int, list[int]] = {}
        for stat in Path(self.proc).glob("[0-9]*/stat"):
            try:
                # After the parenthesised command name come the state, then the parent pid.
                ppid = int(stat.read_bytes().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # the process ended while we looked
            children.setdefault(ppid, []).append(int(stat.parent.name))
        tree = [self.root_pid]
        for pid in tree:  # the list grows while we walk it: breadth first
            tree.extend(children.get(pid, []))
        return tree


def _always(pid: int) -> Callable[[], int]:
    """Make a `pid` argument for ProcessCollector that names one fixed process."""
    return lambda: pid
