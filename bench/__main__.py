"""`python -m bench`: compare the charm's default server command with upstream's (see `bench`)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy

from bench.cpu import CpuSnapshot, CpuUse
from bench.load import Load, LoadError, LoadResult, Wrk, in_process_rate, predict_count
from bench.servers import (
    CHARM_LABEL,
    RUNTIME,
    STANDINS,
    UPSTREAM_LABEL,
    Command,
    Endpoint,
    ServerStartError,
    charm_command,
    free_port,
    lever_commands,
    running,
    train_iris_model,
    upstream_command,
)

MODEL_NAME = "sklearn-iris"
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


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
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
    return args


def server_module_origin() -> str:
    """Say which sklearnserver the servers import: an installed upstream one or the stand-in."""
    spec = importlib.util.find_spec(RUNTIME.server_module)
    if spec is None:
        return f"stand-in from {STANDINS / RUNTIME.server_module}"
    return f"installed, from {spec.origin}"


def measure(command: Command, endpoint: Endpoint, wrk: Wrk, log_path: Path) -> Measurement:
    """Start one server, check it answers, load it, and read its request count."""
    with running(command, endpoint, log_path, READY_TIMEOUT_S) as server:
        answer = server.client.infer("v1", RUNTIME.examples[0].request_json.encode())
        if not answer.ok:
            raise ServerStartError(f"{command.label}: the first prediction failed: {answer.body}")
        url = f"{endpoint.base_url}{server.client.infer_path('v1')}"
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
    up_p99 = statistics.median(r.p99_ms for r in upstream)
    charm_p99 = statistics.median(r.p99_ms for r in charm)
    medians = " (medians)" if len(charm) > 1 else ""
    print(
        f"\n{CHARM_LABEL} / {UPSTREAM_LABEL}: req/s x{charm_rate / up_rate:.2f},"
        f" p99 x{charm_p99 / up_p99:.2f}{medians}"
    )
    print(
        f"ceiling, in-process predict of the same instances: {ceiling:.0f}/s"
        f" ({CHARM_LABEL} reaches {charm_rate / ceiling:.0%} of it)"
    )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    load = Load(
        connections=args.connections,
        threads=args.threads,
        duration_s=args.duration,
        warmup_s=args.warmup,
    )
    with tempfile.TemporaryDirectory(prefix="kserve-bench-") as directory:
        scratch = Path(directory)
        wrk = Wrk.prepare(scratch, RUNTIME.examples[0].request_json, load)
        model = train_iris_model(scratch / "model")
        endpoint = Endpoint(MODEL_NAME, scratch / "model", free_port(), free_port())
        if args.levers:
            commands = lever_commands(endpoint, scratch)
        else:
            commands = [upstream_command(endpoint), charm_command(endpoint, scratch)]
        print(
            f"Serving benchmark: iris SVC, wrk {load.threads} threads x {load.connections}"
            f" connections, {load.duration_s} s after {load.warmup_s} s of warm-up,"
            f" {os.cpu_count()} CPUs, {args.rounds} round(s)"
        )
        print(f"{RUNTIME.server_module}: {server_module_origin()}")
        for command in commands:
            print(f"  {command.label}: {command}")
        # The same instances every HTTP request carries, without HTTP.
        inputs = numpy.array(RUNTIME.examples[0].request["instances"])
        ceiling = in_process_rate(model.predict, inputs, CEILING_S)
        measurements: list[Measurement] = []
        try:
            for round_number in range(args.rounds):
                for command in commands:
                    log_path = scratch / f"server-{len(measurements)}.log"
                    print(f"round {round_number + 1}: {command.label} ...", flush=True)
                    measurements.append(measure(command, endpoint, wrk, log_path))
        except (ServerStartError, LoadError) as error:
            print(f"bench: {error}", file=sys.stderr)
            return 1
        report(measurements, ceiling)
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
