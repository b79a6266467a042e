"""The machine's processes from /proc: a server's process tree, its CPU time and its memory.

One reading of /proc gives every process's parent, CPU ticks, resident pages
and name. From it the bench takes the server's process tree (the command it
started and every descendant: kserve's workers, the launcher's processes,
pmmlserver's JVM, amdinfer-serve's server and log copiers), the CPU that tree
and everything else used, and the tree's resident memory, summed the way the
launcher's `process_resident_memory_bytes` sums it (each process's resident
set from /proc/<pid>/stat), so that a server without the launcher is
measured the same way. It also stops a server: its process group, and what
is left of it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# /proc/<pid>/smaps_rollup's proportional set size line (kB): shared pages divided among sharers.
PSS_FIELD = "Pss:"


@dataclass(frozen=True)
class ProcessStat:
    """One process as /proc/<pid>/stat shows it."""

    name: str
    parent: int
    cpu_ticks: int  # user + system
    resident_pages: int


def parse_stat(text: bytes) -> ProcessStat:
    """A /proc/<pid>/stat line; the name is in parentheses and may hold spaces or `)`."""
    head, tail = text.rsplit(b")", 1)
    # After the name: state(0) ppid(1) ... utime(11) stime(12) ... rss(21).
    fields = tail.split()
    return ProcessStat(
        name=head.split(b"(", 1)[1].decode(errors="replace"),
        parent=int(fields[1]),
        cpu_ticks=int(fields[11]) + int(fields[12]),
        resident_pages=int(fields[21]),
    )


def read_processes(proc: Path = PROC) -> dict[int, ProcessStat]:
    """Every process of the machine (those that end while being read are left out)."""
    processes: dict[int, ProcessStat] = {}
    for stat in proc.glob("[0-9]*/stat"):
        try:
            processes[int(stat.parent.name)] = parse_stat(stat.read_bytes())
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    return processes


def process_tree(root: int, processes: Mapping[int, ProcessStat]) -> list[int]:
    """The root, if it is alive, then its descendants, breadth first."""
    if root not in processes:
        return []
    children: dict[int, list[int]] = {}
    for pid, process in processes.items():
        children.setdefault(process.parent, []).append(pid)
    tree = [root]
    for pid in tree:  # the list grows while it is walked
        tree.extend(children.get(pid, []))
    return tree


def cpu_seconds(pids: Iterable[int], processes: Mapping[int, ProcessStat]) -> float:
    """User and system CPU seconds the processes used since they started."""
    return sum(processes[pid].cpu_ticks for pid in pids if pid in processes) / CLOCK_TICKS


@dataclass(frozen=True)
class TreeMemory:
    """A server's resident memory, summed over its process tree."""

    processes: int
    resident_bytes: int  # each process's resident set, summed (shared pages once per process)
    proportional_bytes: int  # each process's PSS, summed (shared pages divided among sharers)


def pss_bytes(pid: int, proc: Path = PROC) -> int:
    """The process's proportional set size; 0 when it ended or its smaps cannot be read."""
    try:
        lines = (proc / str(pid) / "smaps_rollup").read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        if line.startswith(PSS_FIELD):
            return int(line.split()[1]) * 1024
    return 0


def tree_memory(root: int, proc: Path = PROC) -> TreeMemory:
    """The resident memory of `root` and its descendants, read now."""
    processes = read_processes(proc)
    tree = process_tree(root, processes)
    return TreeMemory(
        processes=len(tree),
        resident_bytes=sum(processes[pid].resident_pages for pid in tree) * PAGE_SIZE,
        proportional_bytes=sum(pss_bytes(pid, proc) for pid in tree),
    )


def kill_group(group: int) -> None:
    """SIGKILL every process of a process group; a group already empty is left as it is."""
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        return  # every process of the group has already ended


def stop_group_leader(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SIGTERM a process that leads its own group, wait up to `timeout_s`, then kill the group."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            print(
                f"pid {process.pid} did not stop within {timeout_s:g} s: killed", file=sys.stderr
            )
    kill_group(process.pid)
    process.wait()
