"""The rocks are drop-in images for KServe's own ClusterServingRuntimes.

KServe starts a runtime's container with the runtime's args; they reach the
rock's Pebble entrypoint service, which puts them in place of its `[ ... ]`
defaults. The server must then run as KServe means it to, on /mnt/models, and
the rock given no arguments must run as KServe would run it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench import kserve_manifests
from bench.commands import KSERVE_DEFAULT_WORKERS
from scripts.kserve_rocks import MODEL_DIR, KServeRock
from tests.rocks.rockcraft_projects import RockProject, server_arguments, spec_of
from tests.rocks.server_cli import ServerCli, unknown_flags

# The values KServe fills in the runtime's args that the rock assumes: its
# fixed --model_name=model, and a model format.
MODEL_NAME, MODEL_FORMAT = "model", "sklearn"
# Flags a runtime may leave to the server, with kserve's default (DESIGN.md section 3).
KSERVE_DEFAULTS = {"--http_port": "8080"}
# Run in a fresh interpreter: kserve.model_server parses its importer's command line.
KSERVE_WORKERS_DEFAULT = (
    "from kserve.model_server import parser; print(parser.get_default('workers'))"
)


def runtime_args(spec: KServeRock) -> list[str]:
    """The runtime's args as KServe passes them, templates filled in."""
    return kserve_manifests.filled_args(spec.runtime.args, MODEL_NAME, MODEL_FORMAT)


def effective_options(arguments: list[str]) -> dict[str, str]:
    """What the server's parser ends up with: the last value of each `--flag=value`."""
    malformed = [arg for arg in arguments if not arg.startswith("--") or "=" not in arg]
    assert not malformed, f"write every argument as --flag=value: {malformed}"
    return dict(arg.split("=", 1) for arg in arguments)


def test_runtime_args_replace_the_defaults(rock: RockProject) -> None:
    command = rock.service_command()
    with_args = effective_options(server_arguments([*command.fixed, *runtime_args(spec_of(rock))]))
    without_args = effective_options(server_arguments(command.argv))
    assert with_args["--model_dir"] == MODEL_DIR
    assert with_args.keys() <= without_args.keys(), "a runtime flag the rock does not default"
    for flag, value in without_args.items():
        assert with_args.get(flag, KSERVE_DEFAULTS.get(flag)) == value, flag


def test_runtime_args_parse(rock: RockProject, cli_source: str, server_cli: ServerCli) -> None:
    """KServe's args, and the rock's own command, by the server's own parser."""
    command = rock.service_command()
    argvs = {
        "rock": server_arguments(command.argv),
        "with-runtime-args": server_arguments([*command.fixed, *runtime_args(spec_of(rock))]),
    }
    check = server_cli(cli_source, spec_of(rock).module, list(argvs.values()))
    for (name, arguments), error in zip(argvs.items(), check.errors, strict=True):
        assert error is None, f"{name} {arguments}: {error}"
        assert not unknown_flags(arguments, check.options), f"{name} {arguments}"


def test_runtime_facts_match_kserve(rock: RockProject) -> None:
    """rocks.yaml records KServe's runtime as its manifest in the release says."""
    directory = kserve_manifests.runtimes_dir()
    if directory is None:
        pytest.skip(kserve_manifests.missing_reason())
    runtime = spec_of(rock).runtime
    manifest = kserve_manifests.manifest(directory, runtime.name)
    assert manifest["metadata"]["name"] == runtime.name
    spec = manifest["spec"]
    formats = [
        (f["name"], str(f["version"]), f["autoSelect"]) for f in spec["supportedModelFormats"]
    ]
    assert formats == [(f.name, f.version, f.auto_select) for f in runtime.model_formats]
    assert tuple(spec["protocolVersions"]) == runtime.protocols
    (container,) = spec["containers"]
    assert container == kserve_manifests.server_container(manifest)
    assert tuple(container["args"]) == runtime.args


def test_bench_counts_upstreams_workers_as_kserves_parser_defaults_them():
    """Upstream's runtimes pass no --workers: the bench's memory per worker divides by kserve's."""
    completed = subprocess.run(
        [sys.executable, "-c", KSERVE_WORKERS_DEFAULT],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    assert int(completed.stdout) == KSERVE_DEFAULT_WORKERS
