"""The bench's command line: which runtime, which load, how many rounds."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from bench.commands import COMPARED_RUNTIMES, Comparison, ComparisonError
from bench.load import Load

DESCRIPTION = """\
Serve the same model with KServe's upstream ClusterServingRuntime command and
with the charm's default command, one after the other, under the same bounded
wrk load on loopback, and print req/s, p50, p99, their ratios, the CPU used,
the in-process ceiling and whether /metrics counted every request.
"""


@dataclass(frozen=True)
class BenchOptions:
    """What one run of the bench does."""

    comparison: Comparison
    load: Load
    rounds: int
    levers: bool


def parse_args(argv: list[str]) -> BenchOptions:
    """Parse and check the options; a bad one exits with argparse's usage and a clear message."""
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
        "--levers",
        action="store_true",
        help="also run the steps between upstream's command and the charm's, one lever each",
    )
    args = parser.parse_args(argv)
    for option in ("duration", "warmup", "connections", "threads", "rounds"):
        if getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")
    try:
        comparison = Comparison.of(args.runtime, args.framework)
    except ComparisonError as error:
        parser.error(str(error))
    load = Load(
        connections=args.connections,
        threads=args.threads,
        duration_s=args.duration,
        warmup_s=args.warmup,
    )
    return BenchOptions(comparison, load, args.rounds, args.levers)
