"""CPU accounting from /proc: who used the machine while a server was under load.

The benchmark shares a small machine with wrk and with whatever else runs on
it. Reporting the CPU time the server, wrk and everything else used during a
measurement shows which figures were taken on a busy machine, instead of
hiding that noise in the averages.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# /proc/stat "cpu" columns that count as busy: user nice system (idle iowait) irq softirq steal.
BUSY_COLUMNS = (0, 1, 2, 5, 6, 7)


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds used during one interval, split by who used them."""

    seconds: float
    server: float
    load_generator: float
    machine: float

    @property
    def others(self) -> float:
        """Cores used by processes other than the server and wrk, on average."""
        return max(0.0, self.machine - self.server - self.load_generator) / self.seconds

    @property
    def server_cores(self) -> float:
        """Cores the server used on average."""
        return self.server / self.seconds


@dataclass(frozen=True)
class CpuSnapshot:
    """Cumulative CPU seconds at one instant."""

    server: float
    load_generator: float
    machine: float

    @classmethod
    def take(cls, server_pid: int) -> CpuSnapshot:
        """Read the server's process tree, this process's waited-for children, and the machine."""
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(
            server=process_tree_cpu_seconds(server_pid),
            load_generator=children.ru_utime + children.ru_stime,
            machine=machine_busy_seconds(),
        )

    def until(self, later: CpuSnapshot, seconds: float) -> CpuUse:
        """What was used between this snapshot and a later one, `seconds` apart."""
        return CpuUse(
            seconds=seconds,
            server=later.server - self.server,
            load_generator=later.load_generator - self.load_generator,
            machine=later.machine - self.machine,
        )


def machine_busy_seconds() -> float:
    """Busy CPU seconds of all cores since boot."""
    columns = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    return sum(int(columns[index]) for index in BUSY_COLUMNS) / CLOCK_TICKS


def process_tree_cpu_seconds(root_pid: int) -> float:
    """User and system CPU seconds of a process and its living descendants."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in PROC.glob("[0-9]*/stat"):
        try:
            # After the parenthesised command: state, ppid, ... utime at 11, stime at 12.
            fields = stat.read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        ticks[pid] = int(fields[11]) + int(fields[12])
    tree = {root_pid}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(ticks.get(pid, 0) for pid in tree) / CLOCK_TICKS
