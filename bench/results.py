"""What one run measured, the charm/upstream ratios, and the printed report."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass

from bench.comparison import CHARM_LABEL, UPSTREAM_LABEL, WORKER_LABEL_PREFIX
from bench.connections import describe_split
from bench.cpu import IDLE_OTHERS_CORES, CpuUse
from bench.load import LoadResult
from bench.processes import TreeMemory
from bench.servers import Command

MB = 1024 * 1024


@dataclass(frozen=True)
class Measurement:
    """One server under load, its memory, and whether /metrics counted what it served."""

    command: Command
    result: LoadResult
    cpu: CpuUse
    sent: int
    counted: int
    # Requests wrk abandons in flight when its time is up may still be served and counted.
    in_flight_allowance: int
    # The server's process tree read from /proc after the load, the same way for every command.
    memory: TreeMemory
    # process_resident_memory_bytes from the server's /metrics, where it sums the whole tree
    # (the launcher's); None for a server whose /metrics does not.
    metrics_memory: int | None
    # Which server ran, as read from the running process.
    origin: str
    # The HTTP connections each server process held halfway through the load, most first.
    connections: tuple[int, ...] = ()

    @property
    def metrics_intact(self) -> bool:
        """Whether /metrics counted every completed request (and no more than were in flight)."""
        return 0 <= self.counted - self.sent <= self.in_flight_allowance

    @property
    def resident_per_worker(self) -> float:
        """The tree's resident memory (from /proc) divided among the server's workers."""
        return self.memory.resident_bytes / self.command.workers


@dataclass(frozen=True)
class Ratios:
    """Charm default / upstream default: of the medians over rounds, and of each round's rate."""

    rate: float
    p50: float
    p99: float
    resident: float
    rate_per_round: tuple[float, ...]

    @classmethod
    def of(cls, measurements: list[Measurement]) -> Ratios:
        """The ratios of the charm's default to upstream's, from every round of both."""
        upstream = [m for m in measurements if m.command.label == UPSTREAM_LABEL]
        charm = [m for m in measurements if m.command.label == CHARM_LABEL]

        def ratio(field: str) -> float:
            return statistics.median(getattr(m.result, field) for m in charm) / statistics.median(
                getattr(m.result, field) for m in upstream
            )

        def resident(group: list[Measurement]) -> float:
            return statistics.median(m.memory.resident_bytes for m in group)

        return cls(
            rate=ratio("rate"),
            p50=ratio("p50_ms"),
            p99=ratio("p99_ms"),
            resident=resident(charm) / resident(upstream),
            rate_per_round=tuple(
                c.result.rate / u.result.rate for c, u in zip(charm, upstream, strict=True)
            ),
        )


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def megabytes(value: float | None) -> str:
    return "-" if value is None else f"{value / MB:.0f}"


def added_per_worker(measurements: list[Measurement]) -> str | None:
    """What one more worker of the charm's command adds to the tree's resident memory.

    From the charm's fewest and most workers measured (first round of each);
    None when the charm ran at one worker count only.
    """
    charm = {
        m.command.workers: m
        for m in reversed(measurements)
        if m.command.label == CHARM_LABEL or m.command.label.startswith(WORKER_LABEL_PREFIX)
    }
    if len(charm) < 2:
        return None
    fewest, most = charm[min(charm)], charm[max(charm)]
    added = (most.memory.resident_bytes - fewest.memory.resident_bytes) / (
        most.command.workers - fewest.command.workers
    )
    return (
        f"each worker the charm adds: {added / MB:.0f} MB resident"
        f" ({fewest.command.workers} -> {most.command.workers} workers, from /proc)"
    )


def report_speed(measurements: list[Measurement]) -> None:
    """The load table: rate, latency, errors, CPU, and the /metrics count check."""
    print(
        f"\n{'command':<26}{'workers':>8}{'conns':>7}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'errors':>7}{'server':>8}{'others':>8}   /metrics count (completed)"
    )
    for m in measurements:
        r = m.result
        verdict = "ok" if m.metrics_intact else "MISMATCH"
        print(
            f"{m.command.label:<26}{m.command.workers:>8}{describe_split(m.connections):>7}"
            f"{r.rate:>8.0f}{r.p50_ms:>8.2f}"
            f"{r.p99_ms:>8.2f}{r.socket_errors + r.bad_status:>7}{m.cpu.server_cores:>8.2f}"
            f"{m.cpu.others:>8.2f}   {m.counted} ({m.sent}) {verdict}"
        )
    print(
        "(conns: wrk's connections each server process held halfway through, most first;"
        " server, others: CPU cores used on average by the server and by other processes)"
    )


def report_memory(measurements: list[Measurement]) -> None:
    """The memory table: the server's tree from /proc, and its /metrics where it sums it."""
    print(
        f"\n{'command':<26}{'workers':>8}{'procs':>6}{'RSS MB':>8}{'PSS MB':>8}"
        f"{'/metrics MB':>12}{'RSS MB/worker':>14}"
    )
    for m in measurements:
        print(
            f"{m.command.label:<26}{m.command.workers:>8}{m.memory.processes:>6}"
            f"{megabytes(m.memory.resident_bytes):>8}{megabytes(m.memory.proportional_bytes):>8}"
            f"{megabytes(m.metrics_memory):>12}{megabytes(m.resident_per_worker):>14}"
        )
    print(
        "(RSS: resident set of every process of the server's tree, summed, read from /proc after"
        " the load, the same way for every command; PSS: the same with shared pages divided among"
        " the processes sharing them; /metrics: the launcher's process_resident_memory_bytes,"
        " its own sum of the same tree, '-' for a server without the launcher)"
    )
    if added := added_per_worker(measurements):
        print(added)


def report_machine(measurements: list[Measurement]) -> None:
    """What other processes used during each measurement, and whether the machine was idle."""
    print("\nother processes during each measurement (cores on average, the busiest first):")
    for m in measurements:
        top = ", ".join(f"{o.name} [{o.pid}] {o.cores:.2f}" for o in m.cpu.top_others) or "none"
        print(f"  {m.command.label}: {m.cpu.others:.2f} in all; {top}")
    busy = [m for m in measurements if not m.cpu.idle_otherwise]
    if busy:
        most = max(busy, key=lambda m: m.cpu.others)
        print(
            f"THE MACHINE WAS NOT IDLE: other processes used {IDLE_OTHERS_CORES} cores or more"
            f" during {len(busy)} of {len(measurements)} measurements (up to"
            f" {most.cpu.others:.2f} during {most.command.label}); the figures are lower and"
            " noisier than on an idle machine"
        )
    else:
        print(
            f"The machine was otherwise idle (others under {IDLE_OTHERS_CORES} cores) throughout."
        )


def report(measurements: list[Measurement], ceiling: float | None) -> None:
    """Print the tables, the servers that ran, the ratios, the ceiling and the machine's state."""
    report_speed(measurements)
    report_memory(measurements)
    print("\nservers that ran (read from each running process):")
    for label, origin in {m.command.label: m.origin for m in measurements}.items():
        print(f"  {label}: {origin}")
    ratios = Ratios.of(measurements)
    rounds = len(ratios.rate_per_round)
    medians = " (medians)" if rounds > 1 else ""
    print(
        f"\n{CHARM_LABEL} / {UPSTREAM_LABEL}: req/s x{ratios.rate:.2f},"
        f" p50 x{ratios.p50:.2f}, p99 x{ratios.p99:.2f}, RSS x{ratios.resident:.2f}{medians}"
    )
    if rounds > 1:
        # Each round's two servers ran one after the other: on a shared machine, the
        # spread of these ratios shows how much other processes moved the figures.
        each = " ".join(f"x{ratio:.2f}" for ratio in ratios.rate_per_round)
        print(f"req/s ratio in each round: {each}")
    if ceiling is None:
        print("ceiling: none (no in-process equivalent of this server's model here)")
    else:
        charm_rate = statistics.median(
            m.result.rate for m in measurements if m.command.label == CHARM_LABEL
        )
        print(
            f"ceiling, in-process predict of the same rows: {ceiling:.0f}/s"
            f" ({CHARM_LABEL} reaches {charm_rate / ceiling:.0%} of it)"
        )
    report_machine(measurements)
    print(f"load average at the end: {load_average()}")
