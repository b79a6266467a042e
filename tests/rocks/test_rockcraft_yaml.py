"""Every KServe rock's rockcraft.yaml is one rockcraft would accept, and follows the conventions.

Rockcraft itself is a snap and cannot run here, so the parts are checked with
the library rockcraft builds them with: `craft_parts.validate_part` validates
the common part keys and the plugin's own properties (pydantic models that
reject unknown keys). The top-level keys are checked against the conventions
every rock of the bundle shares.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import craft_parts
import pytest

from model_server_charm.layer import READY_CHECK
from tests.rocks.rockcraft_projects import (
    COMMON_DIR,
    ROCKS,
    ROCKS_DIR,
    RockProject,
    parse_pebble_command,
    spec_of,
)

BASE = "ubuntu@24.04"
RUN_USER = "_daemon_"
SERVICE_OVERRIDES = {"merge", "replace"}
SERVICE_STARTUPS = {"enabled", "disabled"}
# The part keys whose value is a shell script craft-parts runs with bash.
SCRIPT_KEYS = ("override-pull", "override-build", "override-stage", "override-prime")
# Where /usr/bin/python3 of an Ubuntu rock imports from without PYTHONPATH.
DEFAULT_PYTHON_PATHS = ("usr/lib/python3/dist-packages",)


def test_every_rock_is_found() -> None:
    assert [rock.name for rock in ROCKS], f"no rockcraft.yaml under {ROCKS_DIR}"


def test_part_is_valid(rock_part: tuple[RockProject, str]) -> None:
    rock, name = rock_part
    craft_parts.validate_part(rock.parts[name])


@pytest.mark.parametrize(
    ("change", "culprit"),
    [
        pytest.param({"uv-extra": ["dev"]}, "uv-extra", id="misspelt-plugin-property"),
        pytest.param({"source-tags": "v0.20.0"}, "source-tags", id="misspelt-common-property"),
        pytest.param({"uv-groups": "dev"}, "uv-groups", id="plugin-property-of-wrong-type"),
        pytest.param({"plugin": "uv-python"}, "uv-python", id="unknown-plugin"),
    ],
)
def test_validate_part_rejects_a_broken_part(change: dict[str, Any], culprit: str) -> None:
    """The check above catches a broken part: it does not pass whatever it is given."""
    part = {"plugin": "uv", "source": "https://github.com/kserve/kserve.git", **change}
    with pytest.raises(ValueError, match=culprit):
        craft_parts.validate_part(part)


def test_part_scripts_are_valid_bash(rock_part: tuple[RockProject, str]) -> None:
    """A syntax error in an override script would only show deep into a rock build."""
    rock, name = rock_part
    for key in SCRIPT_KEYS:
        if key in rock.parts[name]:
            result = subprocess.run(
                ["bash", "-n"], input=rock.parts[name][key], capture_output=True, text=True
            )
            assert result.returncode == 0, f"{name} {key}: {result.stderr}"


def test_part_dependencies_exist(rock: RockProject) -> None:
    for name, part in rock.parts.items():
        unknown = set(part.get("after", [])) - set(rock.parts)
        assert not unknown, f"part {name} comes after unknown parts {sorted(unknown)}"


def test_top_level_keys(rock: RockProject) -> None:
    data = rock.data
    assert data["name"] == rock.name, "the rock is named after its directory"
    for key in ("summary", "description", "license", "version"):
        assert data.get(key), f"{key} is required"
    assert isinstance(data["version"], str), "quote the version: YAML reads 0.20 as a number"
    assert data["base"] == BASE
    assert data["build-base"] == BASE
    assert "amd64" in data["platforms"]
    assert data["run-user"] == RUN_USER, "the servers never run as root"


def test_services(rock: RockProject) -> None:
    assert rock.services, "a rock of the bundle runs its server as a Pebble service"
    for name, service in rock.services.items():
        assert service.get("override") in SERVICE_OVERRIDES, f"{name}: override is required"
        assert service.get("startup", "disabled") in SERVICE_STARTUPS
        assert isinstance(service.get("command"), str), f"{name}: command is required"
        parse_pebble_command(service["command"])
        for variable, value in (service.get("environment") or {}).items():
            assert isinstance(value, str), f"{name}: environment {variable} must be a string"


def test_entrypoint_service_exists(rock: RockProject) -> None:
    assert rock.entrypoint_service in rock.services, (
        f"entrypoint-service {rock.entrypoint_service!r} is not one of {sorted(rock.services)}"
    )
    assert rock.services[rock.entrypoint_service].get("startup") == "enabled"


def test_entrypoint_runs_the_rocks_module(rock: RockProject) -> None:
    """`docker run <rock>` starts the server module through kserve_launcher."""
    module = spec_of(rock).module
    assert rock.entrypoint_service == module
    assert rock.launched_module == module


def test_version_matches_source_tag(rock: RockProject) -> None:
    """A rock built from an upstream tag carries that tag's version."""
    tags = {part["source-tag"] for part in rock.parts.values() if "source-tag" in part}
    for tag in tags:
        assert re.sub(r"^v", "", tag) == rock.data["version"], f"source-tag {tag}"


def test_common_sources_exist(rock: RockProject) -> None:
    """`source: common/...` is rocks/common/... once scripts/pack_rocks.py has staged the rock."""
    for name, part in rock.common_parts().items():
        source = ROCKS_DIR / str(part["source"])
        assert source.is_dir(), f"part {name}: {source} does not exist"
        assert source.resolve().is_relative_to(COMMON_DIR.resolve())
        for origin in part.get("organize", {}):
            assert (source / origin).exists(), f"part {name} organizes missing {origin}"


def test_no_source_outside_the_rock(rock: RockProject) -> None:
    """Rockcraft only sees the (staged) rock directory: no ../ or absolute local sources."""
    for name, part in rock.parts.items():
        source = str(part.get("source", ""))
        if "://" in source or not source:
            continue
        assert not Path(source).is_absolute(), f"part {name}: absolute source {source}"
        assert ".." not in Path(source).parts, f"part {name}: source {source} leaves the rock"


def test_launcher_is_importable(rock: RockProject) -> None:
    """The launcher the services run lands where python3 imports from, or PYTHONPATH says."""
    destinations = [
        destination
        for part in rock.common_parts().values()
        for origin, destination in part.get("organize", {}).items()
        if Path(origin).name == "kserve_launcher"
    ]
    assert len(destinations) == 1, "exactly one part installs kserve_launcher"
    parent = str(Path(destinations[0]).parent)
    service = rock.services[rock.entrypoint_service]
    python_path = (service.get("environment") or {}).get("PYTHONPATH", "")
    assert parent in DEFAULT_PYTHON_PATHS or f"/{parent}" in python_path.split(":")


def test_python_interpreter_is_staged(rock: RockProject) -> None:
    """`python3` in the command exists in the rock: no Ubuntu base ships Python."""
    staged = {
        package for part in rock.parts.values() for package in part.get("stage-packages", [])
    }
    assert staged & {"python3", "python3-venv", "python3-minimal"}, "stage a python3 package"


@pytest.mark.parametrize(
    ("command", "fixed", "defaults"),
    [
        ("python3 -m x --a=1", ["python3", "-m", "x", "--a=1"], []),
        ("python3 -m x --a=1 [ --b=2 --c ]", ["python3", "-m", "x", "--a=1"], ["--b=2", "--c"]),
        ("python3 -m x [ ]", ["python3", "-m", "x"], []),
    ],
)
def test_pebble_command_split(command: str, fixed: list[str], defaults: list[str]) -> None:
    split = parse_pebble_command(command)
    assert (list(split.fixed), list(split.defaults)) == (fixed, defaults)


@pytest.mark.parametrize(
    "command",
    ["python3 [ --a ] --b", "python3 [ --a", "python3 --a ]", "[ python3 ]", "x [ [ ] ]"],
)
def test_pebble_command_rejects_misplaced_brackets(command: str) -> None:
    with pytest.raises(ValueError, match="default arguments"):
        parse_pebble_command(command)


def test_rock_plans_only_what_the_charm_replaces(rock: RockProject) -> None:
    """The service, and a ready check down within a second until the server's port listens.

    The charm replaces both, and disables any other service or check in the plan as an
    earlier revision's. The port is the one of the service's defaults: KServe's.
    """
    (http_port,) = (
        word.removeprefix("--http_port=")
        for word in rock.service_command().defaults
        if word.startswith("--http_port=")
    )

    assert list(rock.services) == [rock.entrypoint_service]
    assert rock.checks == {
        READY_CHECK: {
            "override": "replace",
            "level": "ready",
            "period": "1s",
            "threshold": 1,
            "tcp": {"port": int(http_port)},
        }
    }
