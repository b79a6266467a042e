"""A process and all its descendants: read from /proc, ended, and how each ended in words.

The standard library only.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from pathlib import Path

PROC = "/proc"
PR_SET_CHILD_SUBREAPER = 36
# After the server ended: how long what is left below the launcher has to end on SIGTERM.
LEFTOVER_GRACE_S = 3.0


def children_by_parent(proc: str = PROC) -> dict[int, list[int]]:
    """Every process's children, from every process's parent pid."""
    children: dict[int, list[int]] = {}
    for stat in Path(proc).glob("[0-9]*/stat"):
        try:
            # After the parenthesised command name come the state, then the parent pid.
            ppid = int(stat.read_bytes().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        children.setdefault(ppid, []).append(int(stat.parent.name))
    return children


def process_tree(root_pid: int, proc: str = PROC) -> list[int]:
    """List `root_pid`, then its descendants breadth first."""
    children = children_by_parent(proc)
    tree = [root_pid]
    for pid in tree:  # the list grows while we walk it: breadth first
        tree.extend(children.get(pid, []))
    return tree


def descendants(root_pid: int, proc: str = PROC) -> list[int]:
    """Every process below `root_pid` (not itself)."""
    return process_tree(root_pid, proc)[1:]


def become_subreaper() -> None:
    """Have orphans below this process re-parented to it (Linux; elsewhere nothing happens)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        return  # not Linux: orphans go to init, as without the launcher


def end_leftovers() -> None:
    """Terminate, then kill, every process still below this one, and collect them."""
    deadline = time.monotonic() + LEFTOVER_GRACE_S
    leftovers = descendants(os.getpid())
    for pid in leftovers:
        signal_process(pid, signal.SIGTERM)
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.05)
        collect_children()
        leftovers = descendants(os.getpid())
    for pid in leftovers:
        signal_process(pid, signal.SIGKILL)
    collect_children()


def collect_children() -> None:
    """Reap every child that has ended (none left to wait for is fine)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        return


def signal_process(pid: int, number: int) -> None:
    """Send signal `number` to `pid`; one that has ended already or is not ours is left alone."""
    try:
        os.kill(pid, number)
    except (ProcessLookupError, PermissionError):
        return


def describe(exit_code: int | None) -> str:
    """How a process ended, in words."""
    if exit_code is not None and exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = f"signal {-exit_code}"
        return f"was killed by {name}"
    return f"exited with status {exit_code}"


def launcher_exit_status(exit_code: int | None) -> int:
    """The launcher's exit status when a server process failed with `exit_code` (never 0)."""
    if not exit_code:
        return 1
    return 128 - exit_code if exit_code < 0 else exit_code
