"""The benchmark's command line and the commands it compares, built without starting a server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from bench.arguments import parse_args
from bench.commands import CHARM_LABEL, COMPARED_RUNTIMES, Comparison
from bench.servers import Endpoint
from bench.upstream import (
    KSERVE_RUNTIMES_ENV,
    SHARED_RUNTIMES,
    ManifestError,
    ServingRuntimeManifest,
)
from model_server_charm.runtimes import RUNTIMES

MODEL_DIR = Path("/srv/bench/model")
ENDPOINT = Endpoint("iris", MODEL_DIR, 18080, 18081)


def write_manifest(directory: Path, server: str, args: list[str], formats: list[str]) -> None:
    """A ClusterServingRuntime shaped like KServe's own."""
    manifest = {
        "kind": "ClusterServingRuntime",
        "spec": {
            "supportedModelFormats": [{"name": name} for name in formats],
            "containers": [{"name": "kserve-container", "args": args}],
        },
    }
    (directory / f"kserve-{server}.yaml").write_text(yaml.safe_dump(manifest))


@pytest.fixture
def manifests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """KServe's args for sklearnserver and predictiveserver, in a directory of this test."""
    base = ["--model_name={{.Name}}", "--model_dir=/mnt/models", "--http_port=8080"]
    write_manifest(tmp_path, "sklearnserver", base, ["sklearn"])
    predictive = [*base, "--framework={{.Annotations.modelFormat}}", "--nthread=1"]
    write_manifest(tmp_path, "predictiveserver", predictive, ["sklearn", "xgboost", "lightgbm"])
    monkeypatch.setenv(KSERVE_RUNTIMES_ENV, str(tmp_path))
    return tmp_path


def test_upstream_command_is_the_manifests_args_filled_in(manifests: Path):
    comparison = Comparison.of("predictive", "xgboost")

    command = comparison.upstream_command(ENDPOINT)

    assert command.argv == (
        sys.executable,
        "-m",
        "predictiveserver",
        "--model_name=iris",
        f"--model_dir={MODEL_DIR}",
        "--http_port=18080",
        "--framework=xgboost",
        "--nthread=1",
        "--grpc_port=18081",
    )


def test_upstream_argv_adds_the_places_a_manifest_leaves_to_the_servers_defaults():
    manifest = ServingRuntimeManifest("huggingfaceserver", ("--model_name={{.Name}}",), ())

    argv = manifest.argv("iris", "huggingface", MODEL_DIR, 18080, 18081)

    assert argv == [
        "--model_name=iris",
        f"--model_dir={MODEL_DIR}",
        "--http_port=18080",
        "--grpc_port=18081",
    ]


def test_upstream_argv_refuses_a_template_field_it_cannot_fill():
    manifest = ServingRuntimeManifest("xgbserver", ("--storage={{.Labels.bucket}}",), ())

    with pytest.raises(ManifestError, match=r"cannot fill \{\{\.Labels\.bucket\}\}"):
        manifest.argv("iris", "xgboost", MODEL_DIR, 18080, 18081)


@pytest.mark.parametrize("runtime", COMPARED_RUNTIMES)
def test_upstream_command_of_every_compared_runtime_follows_kserves_manifest(runtime: str):
    if not SHARED_RUNTIMES.is_dir():
        pytest.skip(f"KServe's ClusterServingRuntime manifests are not at {SHARED_RUNTIMES}")
    server = RUNTIMES[runtime].server_module
    manifest = yaml.safe_load((SHARED_RUNTIMES / f"kserve-{server}.yaml").read_text())
    args: list[str] = manifest["spec"]["containers"][0]["args"]
    comparison = Comparison.of(runtime, manifests=SHARED_RUNTIMES)
    filled = [
        arg.replace("{{.Name}}", "iris")
        .replace("{{.Annotations.modelFormat}}", comparison.framework)
        .replace("/mnt/models", str(MODEL_DIR))
        .replace("=8080", "=18080")
        for arg in args
    ]

    command = comparison.upstream_command(ENDPOINT)

    assert command.argv == (sys.executable, "-m", server, *filled, "--grpc_port=18081")


def test_charm_command_of_predictive_lightgbm_is_the_examples_one_worker_setting(
    manifests: Path, tmp_path: Path
):
    comparison = Comparison.of("predictive", "lightgbm")

    command = comparison.charm_command(ENDPOINT, tmp_path)

    assert command.argv[1:4] == ("-m", "kserve_launcher", "predictiveserver")
    assert {"--framework=lightgbm", "--workers=1"} <= set(command.argv)
    assert comparison.example.when == {"framework": "lightgbm", "workers": 1}
    assert comparison.charm_workers == 1


def test_levers_end_at_the_charms_default_without_repeating_it(manifests: Path, tmp_path: Path):
    two_workers = Comparison.of("predictive", "sklearn")
    one_worker = Comparison.of("predictive", "lightgbm")

    many = two_workers.lever_commands(ENDPOINT, tmp_path)
    few = one_worker.lever_commands(ENDPOINT, tmp_path)

    assert [len(many), len(few)] == [5, 4]
    assert [many[-1].label, few[-1].label] == [CHARM_LABEL, CHARM_LABEL]
    assert "--workers=2" in many[-1].argv


def test_default_options_compare_sklearn_with_the_default_load(manifests: Path):
    options = parse_args([])

    assert (options.comparison.runtime.name, options.comparison.framework) == (
        "sklearn",
        "sklearn",
    )
    assert (options.load.connections, options.load.duration_s, options.rounds) == (16, 10, 1)


CHOICES = "choose one of sklearn, xgboost, lightgbm, pmml, predictive"


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
    manifests: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)

    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_manifest_names_the_variable_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv(KSERVE_RUNTIMES_ENV, str(tmp_path / "absent"))

    with pytest.raises(SystemExit):
        parse_args(["--runtime", "xgboost"])

    assert f"set ${KSERVE_RUNTIMES_ENV}" in capsys.readouterr().err
