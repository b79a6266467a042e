"""`python -m bench`: compare the charm's default server command with upstream's (see `bench`)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from bench.arguments import BenchOptions, parse_args
from bench.commands import Comparison
from bench.cpu import CpuSnapshot
from bench.frameworks import FRAMEWORKS
from bench.load import LoadError, Wrk
from bench.metrics import predict_count
from bench.results import Measurement, load_average, report
from bench.servers import (
    Command,
    Endpoint,
    ServerStartError,
    free_port,
    running,
    server_origin,
)

MODEL_NAME = "iris"
READY_TIMEOUT_S = 120
CEILING_S = 2.0


def measure(
    comparison: Comparison, command: Command, endpoint: Endpoint, wrk: Wrk, log_path: Path
) -> Measurement:
    """Start one server, check it answers, load it, and read its request count."""
    example = comparison.example
    with running(command, endpoint, log_path, READY_TIMEOUT_S) as server:
        answer = server.client.infer(example.protocol, example.request_json.encode())
        if not answer.ok:
            raise ServerStartError(f"{command.label}: the first prediction failed: {answer.body}")
        url = f"{endpoint.base_url}{server.client.infer_path(example.protocol)}"
        warmup = wrk.run(url, wrk.load.warmup_s)
        before = CpuSnapshot.take(server.pid)
        result = wrk.run(url, wrk.load.duration_s)
        cpu = before.until(CpuSnapshot.take(server.pid), result.duration_s)
        counted = predict_count(endpoint.base_url, endpoint.model_name)
    return Measurement(
        command=command,
        result=result,
        cpu=cpu,
        sent=1 + warmup.requests + result.requests,
        counted=counted,
        in_flight_allowance=2 * wrk.load.connections,
    )


def introduce(options: BenchOptions, commands: list[Command]) -> None:
    """Say what is compared, with which model, load and request, on which machine."""
    comparison, load = options.comparison, options.load
    module = comparison.runtime.server_module
    print(
        f"Serving benchmark: {comparison.runtime.name} ({comparison.framework} iris model),"
        f" wrk {load.threads} threads x {load.connections} connections, {load.duration_s} s"
        f" after {load.warmup_s} s of warm-up, {os.cpu_count()} CPUs, {options.rounds} round(s),"
        f" load average {load_average()}"
    )
    print(f"{module}: {server_origin(module)}")
    print(f"request ({comparison.example.protocol}): {comparison.example.request_json}")
    for command in commands:
        print(f"  {command.label}: {command}")
    if comparison.charm_workers == 1:
        print(
            f"The charm runs {module} with 1 worker, as the server forces: the comparison shows"
            " what the launcher and quiet logs are worth alone."
        )


def run(options: BenchOptions, scratch: Path) -> list[Measurement] | None:
    """Build the model, measure the ceiling and every command; None when one could not run."""
    comparison = options.comparison
    framework = FRAMEWORKS[comparison.framework]
    wrk = Wrk.prepare(scratch, comparison.example.request_json, options.load)
    model_dir = scratch / "model"
    framework.build(model_dir)
    endpoint = Endpoint(MODEL_NAME, model_dir, free_port(), free_port())
    if options.levers:
        commands = comparison.lever_commands(endpoint, scratch)
    else:
        commands = [
            comparison.upstream_command(endpoint),
            comparison.charm_command(endpoint, scratch),
        ]
    introduce(options, commands)
    ceiling = framework.ceiling(model_dir, comparison.example.request, CEILING_S)
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
    return measurements


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kserve-bench-") as directory:
        measurements = run(options, Path(directory))
    if measurements is None:
        return 1
    failures = [m for m in measurements if not m.metrics_intact or m.result.bad_status]
    for m in failures:
        print(
            f"bench: {m.command.label}: /metrics counted {m.counted} predictions for {m.sent}"
            f" completed requests, {m.result.bad_status} answers were errors",
            file=sys.stderr,
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
