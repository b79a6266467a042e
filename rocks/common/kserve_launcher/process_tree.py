"""A process and all its descendants, read from /proc (the standard library only)."""

from __future__ import annotations

from pathlib import Path

PROC = "/proc"


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
