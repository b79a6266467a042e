"""What one run measured, the charm/upstream ratios, and the printed report."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass

from bench.commands import CHARM_LABEL, UPSTREAM_LABEL
from bench.cpu import CpuUse
from bench.load import LoadResult
from bench.servers import Command


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


@dataclass(frozen=True)
class Ratios:
    """Charm default / upstream default: of the medians over rounds, and of each round's rate."""

    rate: float
    p50: float
    p99: float
    rate_per_round: tuple[float, ...]

    @classmethod
    def of(cls, measurements: list[Measurement]) -> Ratios:
        """The ratios of the charm's default to upstream's, from every round of both."""
        upstream = [m.result for m in measurements if m.command.label == UPSTREAM_LABEL]
        charm = [m.result for m in measurements if m.command.label == CHARM_LABEL]

        def ratio(field: str) -> float:
            return statistics.median(getattr(r, field) for r in charm) / statistics.median(
                getattr(r, field) for r in upstream
            )

        return cls(
            rate=ratio("rate"),
            p50=ratio("p50_ms"),
            p99=ratio("p99_ms"),
            rate_per_round=tuple(c.rate / u.rate for c, u in zip(charm, upstream, strict=True)),
        )


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


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
    ratios = Ratios.of(measurements)
    rounds = len(ratios.rate_per_round)
    medians = " (medians)" if rounds > 1 else ""
    print(
        f"\n{CHARM_LABEL} / {UPSTREAM_LABEL}: req/s x{ratios.rate:.2f},"
        f" p50 x{ratios.p50:.2f}, p99 x{ratios.p99:.2f}{medians}"
    )
    if rounds > 1:
        # Each round's two servers ran one after the other: on a shared machine, the
        # spread of these ratios shows how much other processes moved the figures.
        each = " ".join(f"x{ratio:.2f}" for ratio in ratios.rate_per_round)
        print(f"req/s ratio in each round: {each}")
    charm_rate = statistics.median(
        m.result.rate for m in measurements if m.command.label == CHARM_LABEL
    )
    print(
        f"ceiling, in-process predict of the same rows: {ceiling:.0f}/s"
        f" ({CHARM_LABEL} reaches {charm_rate / ceiling:.0%} of it)"
    )
    print(f"load average at the end: {load_average()}")
