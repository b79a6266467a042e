"""The bench's proteus comparison: skipped without a real build, the two command lines with one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import amdinfer as bench_amdinfer
from bench.amdinfer import WRAPPER, AmdinferComparison
from bench.arguments import parse_args
from bench.charm_cost import configured
from bench.comparison import ComparisonSkippedError
from bench.servers import Endpoint
from model_server_charm.runtimes import RUNTIMES
from tests.workload import amdinfer_server

PROTEUS = RUNTIMES["proteus"]


@pytest.fixture
def prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An install prefix with the two files the bench looks for, and no compiling of the shim."""
    root = tmp_path / "prefix"
    for name in ("bin/amdinfer-server", "lib/libecho.so"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    monkeypatch.setenv(amdinfer_server.AMDINFER_PREFIX_ENV, str(root))
    monkeypatch.setattr(amdinfer_server, "loopback_library", lambda: Path("/shim/loopback.so"))
    amdinfer_server.amdinfer_server.cache_clear()
    yield root
    amdinfer_server.amdinfer_server.cache_clear()


def test_without_a_real_build_proteus_is_skipped_with_the_reason(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(amdinfer_server.AMDINFER_PREFIX_ENV, raising=False)
    amdinfer_server.amdinfer_server.cache_clear()

    with pytest.raises(ComparisonSkippedError) as skipped:
        parse_args(["--runtime", "proteus"])

    assert str(skipped.value).startswith(
        "proteus: skipped, AMDINFER_PREFIX is not set: the bench measures only a real"
        " amdinfer-server build"
    )


def test_upstream_is_the_servers_default_command_line_loading_through_the_api(
    prefix: Path, tmp_path: Path
):
    endpoint = Endpoint("echo", tmp_path / "models", 18998, 15051)

    command = AmdinferComparison.of(PROTEUS).upstream_command(endpoint, tmp_path)

    assert command.argv == (
        str(prefix / "bin" / "amdinfer-server"),
        f"--model-repository={tmp_path / 'models'}",
        "--http-port=18998",
        "--grpc-port=15051",
    )
    assert command.environment["HOME"] == str(tmp_path / "upstream-home")
    assert command.environment["LD_PRELOAD"] == "/shim/loopback.so"
    assert command.load_paths == ("/v2/repository/models/echo/load",)


def test_charm_is_the_rocks_wrapper_with_the_charms_flags_on_this_machine(
    prefix: Path, tmp_path: Path
):
    endpoint = Endpoint("echo", tmp_path / "models", 18998, 15051)

    command = AmdinferComparison.of(PROTEUS).charm_command(endpoint, tmp_path)

    assert command.argv == (
        str(WRAPPER),
        f"--model-repository={tmp_path / 'models'}",
        "--repository-load-existing",
        "--http-port=18998",
        "--grpc-port=15051",
    )
    assert command.environment["HOME"] == str(tmp_path / "charm-home")
    assert command.environment["AMDINFER_SERVER_LOG"] == "off"
    program_dir = command.environment["PATH"].split(os.pathsep)[0]
    program = (Path(program_dir) / bench_amdinfer.SERVER_PROGRAM).read_text()
    assert f'exec "{prefix / "bin" / "amdinfer-server"}" "$@"' in program
    assert 'export LD_PRELOAD="/shim/loopback.so"' in program
    assert (command.load_paths, command.tree_memory_metric) == ((), False)


@pytest.mark.parametrize(
    ("runtime", "values"),
    [("sklearn", {"model-uri": "/mnt/models"}), ("proteus", {})],
)
def test_the_reconciled_charm_is_configured_to_serve(runtime: str, values: dict[str, str]):
    assert configured(RUNTIMES[runtime]) == values
