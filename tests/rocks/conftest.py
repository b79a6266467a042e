"""Parametrisation over every rock and part, the server-CLI check and the container engine."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.rocks.rockcraft_projects import ROCKS
from tests.rocks.server_cli import CLI_SOURCES, CliCheck, ServerCli, check_server_cli

# The engines the packed-rock tests run a rock with, the first that answers.
ENGINES = ("docker", "podman")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`rock`: every rockcraft.yaml; `rock_part`: every (rock, part); `cli_source`: parsers."""
    if "rock" in metafunc.fixturenames:
        metafunc.parametrize("rock", ROCKS, ids=[rock.name for rock in ROCKS])
    if "rock_part" in metafunc.fixturenames:
        pairs = [(rock, part) for rock in ROCKS for part in rock.parts]
        metafunc.parametrize(
            "rock_part", pairs, ids=[f"{rock.name}-{part}" for rock, part in pairs]
        )
    if "cli_source" in metafunc.fixturenames:
        metafunc.parametrize("cli_source", CLI_SOURCES)


@pytest.fixture(scope="session")
def server_cli(tmp_path_factory: pytest.TempPathFactory) -> ServerCli:
    """Check argument lists with a server's parser: (source, server module, argvs)."""

    def check(source: str, server_module: str, argvs: list[list[str]]) -> CliCheck:
        return check_server_cli(
            tmp_path_factory.mktemp(f"cli-{source}"), source, server_module, argvs
        )

    return check


@pytest.fixture(scope="session")
def engine() -> str:
    """The first container engine that answers; skip, saying why, when none does."""
    reasons: list[str] = []
    for name in ENGINES:
        if shutil.which(name) is None:
            reasons.append(f"{name} is not installed")
            continue
        info = subprocess.run(
            [name, "info"], capture_output=True, text=True, timeout=60, check=False
        )
        if info.returncode == 0:
            return name
        lines = (info.stderr or info.stdout).strip().splitlines() or ["no answer"]
        reasons.append(f"`{name} info` failed: {lines[-1]}")
    pytest.skip("no container engine reachable: " + "; ".join(reasons))
