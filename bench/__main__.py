"""`python -m bench`: compare the charm's default server command with upstream's (see `bench`)."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.arguments import BenchOptions, parse_args
from bench.commands import CHARM_LABEL, UPSTREAM_LABEL, Comparison
from bench.cpu import CpuSnapshot, CpuUse
from bench.frameworks import FRAMEWORKS
from bench.load import LoadError, LoadResult, Wrk
from bench.metrics import predict_count
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


@dataclass(frozen=True)
class Measurement:
    """One server under load, and whether its /metrics counted what it served."""

    command: Command
    result: LoadResult
    cpu: CpuUse
    sent: int
    counted: int
    # Requests wrk abandons in flight when its time is up may still be served and counted.
    in_flight_allowance: int

    @property
    def metrics_intact(self) -> bool:
        """Whether /metrics counted every completed request (and no more than were in flight)."""
        return 0 <= self.counted - self.sent <= self.in_flight_allowance


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


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


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


def report(measurements: list[Measurement], ceiling: float) -> None:
    """Print the table, the charm/upstream ratios and the ceiling."""
    print(
        f"\n{'command':<26}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}"
        f"{'server':>8}{'others':>8}   /metrics predictions (completed)"
    )
    for m in measurements:
        r = m.result
        verdict = "ok" if m.metrics_intact else "MISMATCH"
        print(
            f"{m.command.label:<26}{r.rate:>8.0f}{r.p50_ms:>8.2f}{r.p99_ms:>8.2f}"
            f"{r.socket_errors + r.bad_status:>7}{m.cpu.server_cores:>8.2f}{m.cpu.others:>8.2f}"
            f"   {m.counted} ({m.sent}) {verdict}"
        )
    print("(server, others: CPU cores used on average by the server and by other processes)")
    upstream = [m.result for m in measurements if m.command.label == UPSTREAM_LABEL]
    charm = [m.result for m in measurements if m.command.label == CHARM_LABEL]
    up_rate = statistics.median(r.rate for r in upstream)
    charm_rate = statistics.median(r.rate for r in charm)
    medians = " (medians)" if len(charm) > 1 else ""
    print(
        f"\n{CHARM_LABEL} / {UPSTREAM_LABEL}: req/s x{charm_rate / up_rate:.2f},"
        f" p50 x{_median_ratio(charm, upstream, 'p50_ms'):.2f},"
        f" p99 x{_median_ratio(charm, upstream, 'p99_ms'):.2f}{medians}"
    )
    if len(charm) > 1:
        # Each round's two servers ran one after the other: on a shared machine, the
        # spread of these ratios shows how much other processes moved the figures.
        rounds = " ".join(f"x{c.rate / u.rate:.2f}" for c, u in zip(charm, upstream, strict=True))
        print(f"req/s ratio in each round: {rounds}")
    print(
        f"ceiling, in-process predict of the same rows: {ceiling:.0f}/s"
        f" ({CHARM_LABEL} reaches {charm_rate / ceiling:.0%} of it)"
    )
    print(f"load average at the end: {load_average()}")


def _median_ratio(charm: list[LoadResult], upstream: list[LoadResult], field: str) -> float:
    return statistics.median(getattr(r, field) for r in charm) / statistics.median(
        getattr(r, field) for r in upstream
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
