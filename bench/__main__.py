"""`python -m bench`: compare the charm's default server command with upstream's (see `bench`)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from bench.arguments import BenchOptions, parse_args
from bench.charm_cost import charm_cost
from bench.comparison import Comparison, ComparisonError, ComparisonSkippedError, commands_to_run
from bench.connections import connections_per_process
from bench.cpu import CpuSnapshot
from bench.load import LoadError, Wrk
from bench.metrics import resident_memory, scrape
from bench.processes import tree_memory
from bench.results import Measurement, load_average, report
from bench.servers import (
    Command,
    Endpoint,
    ServerStartError,
    free_port,
    running,
)

READY_TIMEOUT_S = 120
CEILING_S = 2.0


def measure(
    comparison: Comparison, command: Command, endpoint: Endpoint, wrk: Wrk, log_path: Path
) -> Measurement:
    """Start one server, check it answers, load it, and read its counts and memory."""
    with running(command, endpoint, log_path, READY_TIMEOUT_S) as server:
        answer = server.client.infer(comparison.protocol, comparison.request_json.encode())
        if not answer.ok:
            raise ServerStartError(f"{command.label}: the first prediction failed: {answer.body}")
        url = f"{endpoint.base_url}{server.client.infer_path(comparison.protocol)}"
        warmup = wrk.run(url, wrk.load.warmup_s)
        before = CpuSnapshot.take(server.pid)
        split: list[tuple[int, ...]] = []

        def read_split() -> None:
            split.append(connections_per_process(server.pid, endpoint.http_port))

        result = wrk.run(url, wrk.load.duration_s, halfway=read_split)
        cpu = before.until(CpuSnapshot.take(server.pid), result.duration_s)
        memory = tree_memory(server.pid)
        samples = scrape(endpoint.base_url)
        origin = comparison.origin(server.pid)
    return Measurement(
        command=command,
        result=result,
        cpu=cpu,
        sent=1 + warmup.requests + result.requests,
        counted=comparison.served_count(samples),
        in_flight_allowance=2 * wrk.load.connections,
        memory=memory,
        metrics_memory=resident_memory(samples) if command.tree_memory_metric else None,
        origin=origin,
        connections=split[0] if split else (),
    )


def introduce(options: BenchOptions, commands: list[Command], notes: list[str]) -> None:
    """Say what is compared, with which model, load and request, on which machine."""
    comparison, load = options.comparison, options.load
    print(
        f"Serving benchmark: {comparison.runtime.name}, wrk {load.threads} threads x"
        f" {load.connections} connections, {load.duration_s} s after {load.warmup_s} s of"
        f" warm-up, {os.cpu_count()} CPUs, {options.rounds} round(s),"
        f" load average {load_average()}"
    )
    for line in comparison.describe():
        print(line)
    for command in commands:
        print(f"  {command.label}: {command}")
    for note in notes:
        print(note)


def run(options: BenchOptions, scratch: Path) -> list[Measurement] | None:
    """Build the model, measure the ceiling and every command; None when one could not run."""
    comparison = options.comparison
    wrk = Wrk.prepare(scratch, comparison.request_json, options.load)
    model_dir = comparison.build_model(scratch)
    endpoint = Endpoint(comparison.model_name, model_dir, free_port(), free_port())
    commands, notes = commands_to_run(
        comparison, endpoint, scratch, options.worker_counts, options.levers
    )
    introduce(options, commands, notes)
    ceiling = comparison.ceiling(model_dir, CEILING_S)
    measurements: list[Measurement] = []
    try:
        for round_number in range(options.rounds):
            for command in commands:
                log_path = scratch / f"server-{len(measurements)}.log"
                print(f"round {round_number + 1}: {command.label} ...", flush=True)
                measurements.append(measure(comparison, command, endpoint, wrk, log_path))
    except (ServerStartError, LoadError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return None
    report(measurements, ceiling)
    print(charm_cost(comparison.runtime))
    return measurements


def main(argv: list[str]) -> int:
    try:
        options = parse_args(argv)
    except ComparisonSkippedError as skipped:
        print(f"bench: {skipped}")
        return 0
    # kserve parses the command line of the process that imports it (kserve.model_server, by
    # the ceilings): the bench's options are not its own (--workers 1,2 is not an int).
    sys.argv[1:] = []
    try:
        with tempfile.TemporaryDirectory(prefix="kserve-bench-") as directory:
            measurements = run(options, Path(directory))
    except ComparisonError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    if measurements is None:
        return 1
    failures = [m for m in measurements if not m.metrics_intact or m.result.bad_status]
    for m in failures:
        print(
            f"bench: {m.command.label}: /metrics counted {m.counted} requests for {m.sent}"
            f" completed, {m.result.bad_status} answers were errors",
            file=sys.stderr,
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
