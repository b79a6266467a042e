"""The benchmark's command line, the commands it compares and its ratios, without a server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import servers
from bench.arguments import parse_args
from bench.commands import KServeComparison
from bench.comparison import CHARM_LABEL, UPSTREAM_LABEL, ComparisonError
from bench.servers import Endpoint
from model_server_charm.families.kserve_python import workers as worker_rule
from model_server_charm.runtimes import RUNTIMES

MODEL_DIR = Path("/srv/bench/model")
ENDPOINT = Endpoint("iris", MODEL_DIR, 18080, 18081)
PLACES = ("--model_name=iris", f"--model_dir={MODEL_DIR}")
PORTS = ("--http_port=18080", "--grpc_port=18081")
CHOICES = "choose one of sklearn, xgboost, lightgbm, pmml, paddle, predictive, autogluon, proteus"
MB = 1024 * 1024


def kserve(runtime: str, framework: str | None = None) -> KServeComparison:
    return KServeComparison.of(RUNTIMES[runtime], framework)


def test_default_options_compare_sklearn_under_the_default_load():
    options = parse_args([])

    assert isinstance(options.comparison, KServeComparison)
    assert (options.comparison.runtime.name, options.comparison.framework) == (
        "sklearn",
        "sklearn",
    )
    assert (options.load.connections, options.load.threads, options.load.duration_s) == (16, 2, 10)
    assert (options.rounds, options.levers, options.worker_counts) == (1, False, ())


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
        "--workers",
        "1,2,4",
    ]

    options = parse_args(argv)

    assert isinstance(options.comparison, KServeComparison)
    assert (options.comparison.runtime.name, options.comparison.framework) == (
        "predictive",
        "lightgbm",
    )
    assert (options.load.duration_s, options.rounds, options.worker_counts) == (5, 3, (1, 2, 4))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--runtime", "nope"],
            f"--runtime nope: an unknown runtime the bench does not compare; {CHOICES}",
        ),
        (
            ["--runtime", "huggingface"],
            f"--runtime huggingface: a runtime the bench does not compare; {CHOICES}",
        ),
        (
            ["--runtime", "sklearn", "--framework", "xgboost"],
            "--framework xgboost: kserve-sklearnserver serves sklearn models",
        ),
        (["--rounds", "0"], "--rounds must be at least 1"),
        (["--workers", "1,0"], "'1,0': every worker count is at least 1"),
        (["--workers", "two"], "'two': worker counts such as 1,2"),
        (["--runtime", "proteus", "--framework", "echo"], "--framework: AMD Inference Server"),
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
        ("paddle", "paddleserver", ()),
        ("predictive", "predictiveserver", ("--framework=sklearn", "--nthread=1")),
        ("autogluon", "autogluonserver", ()),
    ],
)
def test_upstream_command_is_kserves_runtime_args_on_this_machine(
    runtime: str, server: str, args: tuple[str, ...], tmp_path: Path
):
    comparison = kserve(runtime)

    command = comparison.upstream_command(ENDPOINT, tmp_path)

    assert command.argv == (sys.executable, "-m", server, *PLACES, *args, *PORTS)
    assert command.environment == {}
    assert (command.workers, command.tree_memory_metric) == (1, False), "kserve's default"


@pytest.mark.parametrize(
    ("runtime", "framework", "workers"),
    [
        ("sklearn", None, 3),
        ("xgboost", None, 3),
        ("lightgbm", None, 3),
        ("pmml", None, 3),
        ("predictive", None, 3),
        ("predictive", "lightgbm", 3),
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
    comparison = kserve(runtime, framework)

    command = comparison.charm_command(ENDPOINT, tmp_path)

    server = comparison.runtime.server_module
    assert command.argv[:4] == (sys.executable, "-m", "kserve_launcher", server)
    assert {*PLACES, *PORTS, f"--workers={workers}", "--enable_latency_logging=false"} <= set(
        command.argv
    )
    assert command.environment["PROMETHEUS_MULTIPROC_DIR"].startswith(str(tmp_path))
    assert (comparison.charm_workers, command.workers) == (workers, workers)
    assert command.tree_memory_metric, "the launcher's /metrics sums the process tree"


def test_levers_end_at_the_charms_default_without_repeating_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    comparison = kserve("predictive", "lightgbm")

    monkeypatch.setattr(worker_rule, "node_cpus", lambda: 2)
    many = comparison.lever_commands(ENDPOINT, tmp_path)
    monkeypatch.setattr(worker_rule, "node_cpus", lambda: 1)  # one worker by default
    few = comparison.lever_commands(ENDPOINT, tmp_path)

    assert [c.label for c in many] == [
        UPSTREAM_LABEL,
        "launcher, 1 worker",
        "+ quiet logs",
        "+ warnings filtered",
        CHARM_LABEL,
    ]
    assert [c.label for c in few] == [c.label for c in many[:3]] + [CHARM_LABEL]


@pytest.mark.parametrize(
    ("runtime", "framework"),
    [("sklearn", None), ("lightgbm", None), ("pmml", None), ("paddle", None)],
)
def test_caps_are_the_charms_own_runtime_data(runtime: str, framework: str | None):
    comparison = kserve(runtime, framework)

    assert comparison.max_workers == RUNTIMES[runtime].max_workers


def test_charm_command_at_a_worker_count_passes_it_and_counts_it(tmp_path: Path):
    command = kserve("sklearn").charm_command(ENDPOINT, tmp_path, "charm, 3 workers", 3)

    assert "--workers=3" in command.argv
    assert (command.label, command.workers) == ("charm, 3 workers", 3)


@pytest.mark.parametrize(
    ("runtime", "borrowed"),
    [("paddle", "sklearn"), ("autogluon", "sklearn"), ("sklearn", "sklearn")],
)
def test_a_runtime_without_upstream_example_gets_the_iris_rows_of_another(
    runtime: str, borrowed: str
):
    comparison = kserve(runtime)

    example = RUNTIMES[borrowed].default_example
    assert example is not None
    assert (comparison.request_json, comparison.protocol) == (
        example.request_json,
        example.protocol,
    )


def test_a_framework_missing_here_names_its_tox_environment(tmp_path: Path):
    comparison = kserve("paddle")
    if comparison.model.installed:
        pytest.skip("PaddlePaddle is installed in this environment")

    with pytest.raises(ComparisonError) as raised:
        comparison.build_model(tmp_path)

    assert str(raised.value) == (
        "--runtime paddle: paddle is not installed in this environment;"
        " run: tox -e bench-paddle -- --runtime paddle"
    )
    assert not (tmp_path / "model").exists()


def test_free_port_asks_again_for_a_port_of_jujus_pod(monkeypatch: pytest.MonkeyPatch):
    offered = iter([38813, 38812, 41234])

    class Probe:
        def __enter__(self) -> Probe:
            return self

        def __exit__(self, *_: object) -> None:
            return None

        def bind(self, _: object) -> None:
            return None

        def getsockname(self) -> tuple[str, int]:
            return ("127.0.0.1", next(offered))

    monkeypatch.setattr(servers.socket, "socket", Probe)

    assert servers.free_port() == 41234
