"""The /metrics registry every server process exposes (see the package docstring).

Import this module only once PROMETHEUS_MULTIPROC_DIR is in the environment:
prometheus_client chooses between per-process and file-backed metric values
when it is first imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import kserve.protocol.rest.server as rest_server
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from kserve_launcher.process_tree import PROC, process_tree
from kserve_launcher.protocol import ROOT_PID_ENV

# Process metrics that describe the server as a whole through its first process.
FIRST_PROCESS_ONLY = frozenset({"process_start_time_seconds", "process_max_fds"})


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

    def __init__(self, root_pid: int, proc: str = PROC) -> None:
        self.root_pid = root_pid
        self.proc = proc

    def collect(self) -> Iterable[Metric]:
        """Read each process with prometheus_client's own collector, then add them up."""
        totals: dict[str, Metric] = {}
        for pid in process_tree(self.root_pid, self.proc):
            one_process = ProcessCollector(pid=_always(pid), proc=self.proc, registry=None)
            for family in one_process.collect():
                if family.name not in totals:
                    totals[family.name] = family
                elif family.name not in FIRST_PROCESS_ONLY:
                    sample = totals[family.name].samples[0]
                    summed = sample._replace(value=sample.value + family.samples[0].value)
                    totals[family.name].samples[0] = summed
        return list(totals.values())


def _always(pid: int) -> Callable[[], int]:
    """Make a `pid` argument for ProcessCollector that names one fixed process."""
    return lambda: pid
