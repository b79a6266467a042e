"""CPU accounting from /proc: who used the machine while a server was under load.

The benchmark shares a small machine with wrk and with whatever else runs on
it. Reporting the CPU time the server, wrk and everything else used during a
measurement, and which other processes used most, shows which figures were
taken on a busy machine, instead of hiding that noise in the averages.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field
from pathlib import Path

from bench.processes import (
    CLOCK_TICKS,
    PROC,
    ProcessStat,
    cpu_seconds,
    process_tree,
    read_processes,
)

# /proc/stat "cpu" columns that count as busy: user nice system (idle iowait) irq softirq steal.
BUSY_COLUMNS = (0, 1, 2, 5, 6, 7)
# Other processes using less than this many cores on average leave the machine idle enough.
IDLE_OTHERS_CORES = 0.1
# How many of the other processes that used most CPU a report names.
TOP_OTHERS = 3


@dataclass(frozen=True)
class OtherProcess:
    """A process other than the server and wrk, and the cores it used on average."""

    pid: int
    name: str
    cores: float


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds used during one interval, split by who used them."""

    seconds: float
    server: float
    load_generator: float
    machine: float
    # The other processes that used most, most first.
    top_others: tuple[OtherProcess, ...] = field(default_factory=tuple[OtherProcess, ...])

    @property
    def others(self) -> float:
        """Cores used by processes other than the server and wrk, on average."""
        return max(0.0, self.machine - self.server - self.load_generator) / self.seconds

    @property
    def server_cores(self) -> float:
        """Cores the server used on average."""
        return self.server / self.seconds

    @property
    def idle_otherwise(self) -> bool:
        """Whether other processes left the machine to the server and wrk."""
        return self.others < IDLE_OTHERS_CORES


@dataclass(frozen=True)
class CpuSnapshot:
    """Cumulative CPU seconds at one instant, and every process's ticks."""

    server: float
    load_generator: float
    machine: float
    tree: frozenset[int]
    processes: dict[int, ProcessStat]

    @classmethod
    def take(cls, server_pid: int) -> CpuSnapshot:
        """Read the server's process tree, this process's waited-for children, and the machine."""
        processes = read_processes()
        tree = process_tree(server_pid, processes)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(
            server=cpu_seconds(tree, processes),
            load_generator=children.ru_utime + children.ru_stime,
            machine=machine_busy_seconds(),
            tree=frozenset(tree),
            processes=processes,
        )

    def until(self, later: CpuSnapshot, seconds: float) -> CpuUse:
        """What was used between this snapshot and a later one, `seconds` apart."""
        return CpuUse(
            seconds=seconds,
            server=later.server - self.server,
            load_generator=later.load_generator - self.load_generator,
            machine=later.machine - self.machine,
            top_others=self._top_others(later, seconds),
        )

    def _top_others(self, later: CpuSnapshot, seconds: float) -> tuple[OtherProcess, ...]:
        """The processes outside the server's tree (and this one) that used most in between."""
        ours = self.tree | later.tree | {os.getpid()}
        used = [
            OtherProcess(
                pid, process.name, (process.cpu_ticks - before.cpu_ticks) / CLOCK_TICKS / seconds
            )
            for pid, process in later.processes.items()
            if pid not in ours and (before := self.processes.get(pid)) is not None
        ]
        busy = sorted((other for other in used if other.cores > 0), key=lambda other: -other.cores)
        return tuple(busy[:TOP_OTHERS])


def machine_busy_seconds(proc: Path = PROC) -> float:
    """Busy CPU seconds of all cores since boot."""
    columns = (proc / "stat").read_text().splitlines()[0].split()[1:]
    return sum(int(columns[index]) for index in BUSY_COLUMNS) / CLOCK_TICKS
