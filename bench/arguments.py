"""The bench's command line: which runtime, which load, how many rounds, which worker counts."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from bench.amdinfer import AmdinferComparison
from bench.commands import KServeComparison
from bench.comparison import Comparison, ComparisonError
from bench.load import Load
from model_server_charm.runtimes import RUNTIMES, Runtime

DESCRIPTION = """\
Serve the same model with upstream's default command and with the charm's
default command, one after the other, under the same bounded wrk load on
loopback, and print req/s, p50, p99, their ratios, the CPU used, the server's
resident memory, the in-process ceiling, whether /metrics counted every
request, which servers ran, what other processes used, and the charm's own
reconcile and import times.
"""


@dataclass(frozen=True)
class Family:
    """How the bench compares the runtimes of one server family."""

    compares: Callable[[Runtime], bool]
    comparison: Callable[[Runtime, str | None], Comparison]


FAMILIES = {
    "kserve-python": Family(KServeComparison.compares, KServeComparison.of),
    "amdinfer": Family(AmdinferComparison.compares, AmdinferComparison.of),
}
# The runtimes whose models the bench can build on this machine (bench.frameworks).
COMPARED_RUNTIMES = tuple(
    name
    for name, runtime in RUNTIMES.items()
    if runtime.family in FAMILIES and FAMILIES[runtime.family].compares(runtime)
)


@dataclass(frozen=True)
class BenchOptions:
    """What one run of the bench does."""

    comparison: Comparison
    load: Load
    rounds: int
    levers: bool
    # The charm's command at these worker counts too (besides its default).
    worker_counts: tuple[int, ...]


def comparison_of(runtime_name: str, framework: str | None) -> Comparison:
    """The runtime's comparison; ComparisonError or ComparisonSkippedError says why not."""
    if runtime_name not in COMPARED_RUNTIMES:
        known = "a runtime" if runtime_name in RUNTIMES else "an unknown runtime"
        raise ComparisonError(
            f"--runtime {runtime_name}: {known} the bench does not compare;"
            f" choose one of {', '.join(COMPARED_RUNTIMES)}"
        )
    runtime = RUNTIMES[runtime_name]
    return FAMILIES[runtime.family].comparison(runtime, framework)


def worker_counts(text: str) -> tuple[int, ...]:
    """`1,2,4`: worker counts, each at least 1."""
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: worker counts such as 1,2") from None
    if any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError(f"{text!r}: every worker count is at least 1")
    return counts


def parse_args(argv: list[str]) -> BenchOptions:
    """Parse and check the options; a bad one exits with argparse's usage and a clear message.

    A runtime that cannot be measured on this machine as it is raises ComparisonSkippedError.
    """
    parser = argparse.ArgumentParser(prog="python -m bench", description=DESCRIPTION)
    parser.add_argument(
        "--runtime",
        default="sklearn",
        help=f"the runtime to compare: {', '.join(COMPARED_RUNTIMES)} (default: sklearn)",
    )
    parser.add_argument(
        "--framework",
        help="predictive: the model's framework, sklearn, xgboost or lightgbm"
        " (default: the charm's default, sklearn)",
    )
    parser.add_argument("--duration", type=int, default=Load.duration_s, help="seconds measured")
    parser.add_argument("--warmup", type=int, default=Load.warmup_s, help="seconds before that")
    parser.add_argument("--connections", type=int, default=Load.connections)
    parser.add_argument("--threads", type=int, default=Load.threads)
    parser.add_argument("--rounds", type=int, default=1, help="run every command this many times")
    parser.add_argument(
        "--workers",
        type=worker_counts,
        default=(),
        help="also run the charm's command at these worker counts, e.g. 1,2 (within its cap)",
    )
    parser.add_argument(
        "--levers",
        action="store_true",
        help="also run the steps between upstream's command and the charm's, one lever each",
    )
    args = parser.parse_args(argv)
    for option in ("duration", "warmup", "connections", "threads", "rounds"):
        if getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")
    try:
        comparison = comparison_of(args.runtime, args.framework)
    except ComparisonError as error:
        parser.error(str(error))
    load = Load(
        connections=args.connections,
        threads=args.threads,
        duration_s=args.duration,
        warmup_s=args.warmup,
    )
    return BenchOptions(comparison, load, args.rounds, args.levers, args.workers)
