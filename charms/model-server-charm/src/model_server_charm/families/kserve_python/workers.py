"""How many worker processes a KServe server runs when the `workers` option is 0 (the default).

One worker per CPU the pod has, never more than the runtime runs (its
`max-workers`): the pod's `cpu` limit rounded up when the charm sets one, else the
CPUs of the node, as the charm's own container sees them (its CPU affinity,
so a cpuset counts). In serverless mode the predictor's pod may land on
another node: the charm's node stands in for it.
"""

from __future__ import annotations

import math
import os

from lightkube.utils.quantity import parse_quantity


def node_cpus() -> int:
    """The CPUs of this node that the charm's container may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def default_workers(cpu_limit: str, cap: int, cpus_of_node: int) -> int:
    """One per CPU of the pod (`cpu_limit` rounded up when set, else the node's), at most `cap`."""
    limit = parse_quantity(cpu_limit) if cpu_limit else None
    cpus = math.ceil(limit) if limit is not None else cpus_of_node
    return max(1, min(cap, cpus))
