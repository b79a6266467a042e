"""The benchmark's accounting and report: ratios, memory, other processes, worker counts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from prometheus_client.samples import Sample

from bench.comparison import CHARM_LABEL, UPSTREAM_LABEL, commands_to_run
from bench.cpu import CpuSnapshot, CpuUse, OtherProcess
from bench.load import LoadResult
from bench.metrics import resident_memory
from bench.processes import ProcessStat, TreeMemory
from bench.results import Measurement, Ratios, report
from bench.servers import Command, Endpoint
from model_server_charm.runtimes import RUNTIMES

MB = 1024 * 1024
ENDPOINT = Endpoint("iris", Path("/srv/model"), 18080, 18081)


def measurement(
    label: str,
    requests: int,
    p50_ms: float,
    p99_ms: float,
    workers: int = 1,
    resident_mb: int = 100,
    others: float = 0.0,
) -> Measurement:
    """A 10 s run of `requests`, every one counted by /metrics."""
    result = LoadResult(requests, 10.0, p50_ms, p99_ms, socket_errors=0, bad_status=0)
    busy = (OtherProcess(42, "busy", others),) if others else ()
    cpu = CpuUse(10.0, 9.0, 5.0, 14.0 + others * 10, busy)
    command = Command(
        label, ("server",), workers=workers, tree_memory_metric=label != UPSTREAM_LABEL
    )
    memory = TreeMemory(workers + 1, resident_mb * MB, resident_mb * MB // 2)
    metrics = resident_mb * MB if command.tree_memory_metric else None
    return Measurement(command, result, cpu, requests, requests, 32, memory, metrics, "here")


ROUNDS = [
    measurement(UPSTREAM_LABEL, 10_000, 8.0, 20.0, resident_mb=100),
    measurement(CHARM_LABEL, 20_000, 4.0, 10.0, workers=2, resident_mb=300),
    measurement(UPSTREAM_LABEL, 12_000, 6.0, 16.0, resident_mb=100),
    measurement(CHARM_LABEL, 18_000, 5.0, 12.0, workers=2, resident_mb=300),
]


def test_ratios_are_of_the_medians_over_rounds_and_of_each_rounds_rate():
    ratios = Ratios.of(ROUNDS)

    assert ratios.rate == pytest.approx(19_000 / 11_000)
    assert (ratios.p50, ratios.p99) == (pytest.approx(4.5 / 7.0), pytest.approx(11.0 / 18.0))
    assert ratios.resident == pytest.approx(3.0)
    assert ratios.rate_per_round == pytest.approx((2.0, 1.5))


def test_report_prints_the_ratios_and_the_share_of_the_ceiling(capsys: pytest.CaptureFixture[str]):
    report(ROUNDS, ceiling=3800.0)

    printed = capsys.readouterr().out
    assert (
        "charm default / upstream default: req/s x1.73, p50 x0.64, p99 x0.61, RSS x3.00 (medians)"
        in printed
    )
    assert "req/s ratio in each round: x2.00 x1.50" in printed
    assert (
        "ceiling, in-process predict of the same rows: 3800/s (charm default reaches 50% of it)"
        in printed
    )


def test_memory_table_gives_proc_and_metrics_figures_and_per_worker(
    capsys: pytest.CaptureFixture[str],
):
    one_worker = measurement("charm, 1 worker", 9_000, 5.0, 12.0, workers=1, resident_mb=180)

    report([*ROUNDS[:2], one_worker], ceiling=None)

    lines = capsys.readouterr().out.splitlines()
    rows = {line[:26].strip(): line[26:].split() for line in lines if line[:26].strip()}
    # workers, processes, RSS, PSS, /metrics, RSS per worker
    assert rows[UPSTREAM_LABEL][:6] == ["1", "2", "100", "50", "-", "100"]
    assert rows[CHARM_LABEL][:6] == ["2", "3", "300", "150", "300", "150"]
    assert "each worker the charm adds: 120 MB resident (1 -> 2 workers, from /proc)" in lines
    assert "ceiling: none (no in-process equivalent of this server's model here)" in lines


@pytest.mark.parametrize(
    ("others", "verdict"),
    [
        (0.0, "The machine was otherwise idle (others under 0.1 cores) throughout."),
        (
            0.5,
            "THE MACHINE WAS NOT IDLE: other processes used 0.1 cores or more during 2 of 4"
            " measurements (up to 0.50 during charm default); the figures are lower and noisier"
            " than on an idle machine",
        ),
    ],
)
def test_report_says_whether_the_machine_was_idle(
    capsys: pytest.CaptureFixture[str], others: float, verdict: str
):
    busy = [replace(m, cpu=replace(m.cpu, machine=m.cpu.machine + others * 5)) for m in ROUNDS[2:]]
    charm = measurement(CHARM_LABEL, 18_000, 5.0, 12.0, workers=2, others=others)

    report([*ROUNDS[:2], busy[0], charm], ceiling=None)

    printed = capsys.readouterr().out
    assert verdict in printed
    if others:
        assert "  charm default: 0.50 in all; busy [42] 0.50" in printed


def test_cpu_snapshots_name_the_busiest_other_processes():
    def table(ticks: dict[int, int]) -> dict[int, ProcessStat]:
        return {pid: ProcessStat(f"p{pid}", 1, value, 0) for pid, value in ticks.items()}

    server = {10, 11}
    before = CpuSnapshot(0.0, 0.0, 0.0, frozenset(server), table({10: 0, 11: 0, 20: 0, 21: 0}))
    after = CpuSnapshot(
        0.0, 0.0, 0.0, frozenset(server), table({10: 900, 11: 900, 20: 500, 21: 100, 22: 50})
    )

    use = before.until(after, 10.0)

    ticks = 100  # os.sysconf("SC_CLK_TCK") on Linux
    assert [(o.name, o.cores) for o in use.top_others] == [
        ("p20", pytest.approx(500 / ticks / 10)),
        ("p21", pytest.approx(100 / ticks / 10)),
    ]


@dataclass
class FakeComparison:
    """What commands_to_run asks of a comparison."""

    charm_workers: int | None
    max_workers: int | None
    runtime = RUNTIMES["lightgbm"]

    def upstream_command(self, endpoint: Endpoint, scratch: Path) -> Command:
        return Command(UPSTREAM_LABEL, ("up",))

    def charm_command(
        self, endpoint: Endpoint, scratch: Path, label: str = CHARM_LABEL, workers: int = 0
    ) -> Command:
        return Command(label, ("charm",), workers=workers or self.charm_workers or 1)

    def lever_commands(self, endpoint: Endpoint, scratch: Path) -> list[Command]:
        return [self.upstream_command(endpoint, scratch), Command("lever", ("l",))]


@pytest.mark.parametrize(
    ("default", "cap", "labels", "notes"),
    [
        (2, 8, [UPSTREAM_LABEL, CHARM_LABEL, "charm, 1 worker", "charm, 4 workers"], []),
        (
            1,
            1,
            [UPSTREAM_LABEL, CHARM_LABEL],
            [
                "--workers 2: the charm runs LightGBM with at most 1 (runtimes.yaml max-workers"
                " and the charm's options); not run",
                "--workers 4: the charm runs LightGBM with at most 1 (runtimes.yaml max-workers"
                " and the charm's options); not run",
            ],
        ),
        (
            None,
            None,
            [UPSTREAM_LABEL, CHARM_LABEL],
            [
                f"--workers {n}: LightGBM has no worker processes option in the charm; not run"
                for n in (1, 2, 4)
            ],
        ),
    ],
)
def test_worker_counts_run_within_the_charms_cap_and_skip_its_default(
    default: int | None, cap: int | None, labels: list[str], notes: list[str]
):
    comparison = FakeComparison(default, cap)

    commands, said = commands_to_run(comparison, ENDPOINT, Path("/tmp"), (1, 2, 4), levers=False)

    assert [c.label for c in commands] == labels
    assert said == notes


def test_resident_memory_is_read_from_metrics_when_exported():
    samples = [Sample("process_resident_memory_bytes", {}, 123456789.0)]

    assert resident_memory(samples) == 123456789
    assert resident_memory([Sample("other", {}, 1.0)]) is None
