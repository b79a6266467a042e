"""The benchmark's command line, the commands it compares and its ratios, without a server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.arguments import parse_args
from bench.commands import CHARM_LABEL, UPSTREAM_LABEL, Comparison
from bench.cpu import CpuUse
from bench.load import LoadResult
from bench.results import Measurement, Ratios, report
from bench.servers import Command, Endpoint
from model_server_charm.families.kserve_python import workers as worker_rule

MODEL_DIR = Path("/srv/bench/model")
ENDPOINT = Endpoint("iris", MODEL_DIR, 18080, 18081)
PLACES = ("--model_name=iris", f"--model_dir={MODEL_DIR}")
PORTS = ("--http_port=18080", "--grpc_port=18081")
CHOICES = "choose one of sklearn, xgboost, lightgbm, pmml, predictive"


def test_default_options_compare_sklearn_under_the_default_load():
    options = parse_args([])

    assert (options.comparison.runtime.name, options.comparison.framework) == (
        "sklearn",
        "sklearn",
    )
    assert (options.load.connections, options.load.threads, options.load.duration_s) == (16, 2, 10)
    assert (options.rounds, options.levers) == (1, False)


def test_options_choose_the_runtime_framework_load_and_rounds():
    argv = [
        "--runtime",
        "predictive",
        "--framework",
        "lightgbm",
        "--duration",
        "5",
        "--rounds",
        "3",
    ]

    options = parse_args(argv)

    assert (options.comparison.runtime.name, options.comparison.framework) == (
        "predictive",
        "lightgbm",
    )
    assert (options.load.duration_s, options.rounds) == (5, 3)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--runtime", "nope"],
            f"--runtime nope: an unknown runtime the bench does not compare; {CHOICES}",
        ),
        (
            ["--runtime", "paddle"],
            f"--runtime paddle: a runtime the bench does not compare; {CHOICES}",
        ),
        (
            ["--runtime", "sklearn", "--framework", "xgboost"],
            "--framework xgboost: kserve-sklearnserver serves sklearn models",
        ),
        (["--rounds", "0"], "--rounds must be at least 1"),
    ],
)
def test_bad_option_exits_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)

    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("runtime", "server", "args"),
    [
        ("sklearn", "sklearnserver", ()),
        ("xgboost", "xgbserver", ("--nthread=1",)),
        ("lightgbm", "lgbserver", ("--nthread=1",)),
        ("pmml", "pmmlserver", ()),
        ("predictive", "predictiveserver", ("--framework=sklearn", "--nthread=1")),
    ],
)
def test_upstream_command_is_kserves_runtime_args_on_this_machine(
    runtime: str, server: str, args: tuple[str, ...]
):
    comparison = Comparison.of(runtime)

    command = comparison.upstream_command(ENDPOINT)

    assert command.argv == (sys.executable, "-m", server, *PLACES, *args, *PORTS)
    assert command.environment == {}


@pytest.mark.parametrize(
    ("runtime", "framework", "workers"),
    [
        ("sklearn", None, 3),
        ("xgboost", None, 3),
        ("lightgbm", None, 3),
        ("pmml", None, 3),
        ("predictive", None, 3),
        ("predictive", "lightgbm", 1),
    ],
)
def test_charm_command_is_the_launcher_with_the_charms_workers_and_quiet_logs(
    runtime: str,
    framework: str | None,
    workers: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    """One worker per CPU of the machine (3 here), as the runtime allows."""
    monkeypatch.setattr(worker_rule, "node_cpus", lambda: 3)
    comparison = Comparison.of(runtime, framework)

    command = comparison.charm_command(ENDPOINT, tmp_path)

    server = comparison.runtime.server_module
    assert command.argv[:4] == (sys.executable, "-m", "kserve_launcher", server)
    assert {*PLACES, *PORTS, f"--workers={workers}", "--enable_latency_logging=false"} <= set(
        command.argv
    )
    assert command.environment["PROMETHEUS_MULTIPROC_DIR"].startswith(str(tmp_path))
    assert comparison.charm_workers == workers


def test_levers_end_at_the_charms_default_without_repeating_it(tmp_path: Path):
    two_workers = Comparison.of("predictive", "sklearn")
    one_worker = Comparison.of("predictive", "lightgbm")

    many = two_workers.lever_commands(ENDPOINT, tmp_path)
    few = one_worker.lever_commands(ENDPOINT, tmp_path)

    assert [c.label for c in many] == [
        UPSTREAM_LABEL,
        "launcher, 1 worker",
        "+ quiet logs",
        "+ warnings filtered",
        CHARM_LABEL,
    ]
    assert [c.label for c in few] == [c.label for c in many[:3]] + [CHARM_LABEL]


def measurement(label: str, requests: int, p50_ms: float, p99_ms: float) -> Measurement:
    """A 10 s run of `requests`, every one counted by /metrics."""
    result = LoadResult(requests, 10.0, p50_ms, p99_ms, socket_errors=0, bad_status=0)
    cpu = CpuUse(seconds=10.0, server=9.0, load_generator=5.0, machine=15.0)
    return Measurement(Command(label, ("server",)), result, cpu, requests, requests, 32)


ROUNDS = [
    measurement(UPSTREAM_LABEL, 10_000, 8.0, 20.0),
    measurement(CHARM_LABEL, 20_000, 4.0, 10.0),
    measurement(UPSTREAM_LABEL, 12_000, 6.0, 16.0),
    measurement(CHARM_LABEL, 18_000, 5.0, 12.0),
]


def test_ratios_are_of_the_medians_over_rounds_and_of_each_rounds_rate():
    ratios = Ratios.of(ROUNDS)

    assert ratios.rate == pytest.approx(19_000 / 11_000)
    assert (ratios.p50, ratios.p99) == (pytest.approx(4.5 / 7.0), pytest.approx(11.0 / 18.0))
    assert ratios.rate_per_round == pytest.approx((2.0, 1.5))


def test_report_prints_the_ratios_and_the_share_of_the_ceiling(capsys: pytest.CaptureFixture[str]):
    report(ROUNDS, ceiling=3800.0)

    printed = capsys.readouterr().out
    assert (
        "charm default / upstream default: req/s x1.73, p50 x0.64, p99 x0.61 (medians)" in printed
    )
    assert "req/s ratio in each round: x2.00 x1.50" in printed
    assert (
        "ceiling, in-process predict of the same rows: 3800/s (charm default reaches 50% of it)"
        in printed
    )
