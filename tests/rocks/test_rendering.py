"""The KServe rocks' files are the renderings of rocks/rocks.yaml.

`tox -e lint` compares every rendered file with its template's output
(`scripts/render_rockcraft.py --check`); the same comparison runs here where
jinja2 is installed. Everywhere, each rockcraft.yaml is also checked against the
entry it is rendered from, so a hand edit of a rendered file fails here too.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
import yaml

from tests.rocks.rockcraft_projects import (
    KSERVE_ROCKS,
    LAUNCHER_PREFIX,
    ROCKS,
    ROCKS_DIR,
    RockProject,
    discover_rocks,
    parse_pebble_command,
    spec_of,
)

RENDERED_FILES = ("rockcraft.yaml", "README.md")


def test_every_listed_rock_is_rendered() -> None:
    missing = [
        f"{name}/{file_name}"
        for name in KSERVE_ROCKS.rocks
        for file_name in RENDERED_FILES
        if not (ROCKS_DIR / name / file_name).is_file()
    ]
    assert not missing, f"not rendered (python3 -m scripts.render_rockcraft): {missing}"
    assert [rock.name for rock in ROCKS] == sorted(KSERVE_ROCKS.rocks)


def test_every_launcher_rock_is_listed() -> None:
    """A hand-written rock that runs kserve_launcher would escape these tests: list it."""
    unlisted = [
        rock.name
        for rock in discover_rocks()
        if rock.name not in KSERVE_ROCKS.rocks
        and any("kserve_launcher" in str(s.get("command", "")) for s in rock.services.values())
    ]
    assert not unlisted, f"KServe rocks missing from rocks/rocks.yaml: {unlisted}"


def test_rendered_files_are_current() -> None:
    pytest.importorskip("jinja2", reason="jinja2 renders the rocks; `tox -e lint` checks this")
    from scripts.render_rockcraft import renderings
    from scripts.rendering import stale_files

    assert not stale_files(renderings()), "run: python3 -m scripts.render_rockcraft"


def test_rendering_follows_the_data() -> None:
    """The check above is not vacuous: another entry renders another rockcraft.yaml."""
    pytest.importorskip("jinja2", reason="jinja2 renders the rocks; `tox -e lint` checks this")
    from scripts.render_rockcraft import render_rock

    base = KSERVE_ROCKS.rocks["xgbserver"]
    changed = dataclasses.replace(base, default_args=("--http_port=9000",), stage_packages=())
    data = yaml.safe_load(render_rock(KSERVE_ROCKS, changed)["rockcraft.yaml"])
    command = parse_pebble_command(data["services"]["xgbserver"]["command"])
    assert command.defaults == ("--http_port=9000",)
    assert data["parts"]["xgbserver"]["stage-packages"] == ["python3-venv"]


def test_rockcraft_yaml_follows_its_entry(rock: RockProject) -> None:
    spec = spec_of(rock)
    part = rock.parts[spec.module]
    assert rock.data["version"] == KSERVE_ROCKS.kserve_version
    assert (part["source-tag"], part["source-subdir"]) == (
        KSERVE_ROCKS.source_tag,
        f"python/{spec.module}",
    )
    assert part["stage-packages"] == ["python3-venv", *spec.stage_packages]
    command = rock.service_command(spec.module)
    assert command.fixed == (*LAUNCHER_PREFIX, spec.module, *spec.fixed_args)
    assert command.defaults == spec.default_args
    environment = rock.services[spec.module]["environment"]
    assert spec.environment.items() <= environment.items()


def test_every_server_module_is_installed(rock: RockProject) -> None:
    """The modules the server imports are copied in when uv does not install them."""
    override = rock.parts[spec_of(rock).module]["override-build"]
    loop = re.search(r"^\s*for module in (.+); do$", override, re.MULTILINE)
    assert loop, "the override-build installs no server module"
    assert tuple(loop.group(1).split()) == spec_of(rock).modules
    assert spec_of(rock).module in spec_of(rock).modules
