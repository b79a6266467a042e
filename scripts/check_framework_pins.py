"""Check that the test environments pin the framework versions the rocks ship.

rocks/rocks.yaml records, for each KServe rock, the versions of its frameworks
that upstream's `python/<module>/uv.lock` pins at the tag (`frameworks`), and the
dependency groups of pyproject.toml whose environments test that server
(`test-groups`). Each of those groups, with the groups it includes, must pin
every framework with `==` at exactly that version, so that a green run of those
environments means the versions the rock ships work. `tox -e lint` runs this
script; after changing a pin, run `uv lock`. `tox -e rocks` compares the
recorded versions with upstream's locks (`KSERVE_PYTHON_DIR`), through
`lock_versions` below.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from scripts.kserve_rocks import ROOT, KServeRocks, load_kserve_rocks

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest brings tomli wherever Python has no tomllib
    import tomli as tomllib  # pyright: ignore[reportMissingImports]

PYPROJECT = ROOT / "pyproject.toml"


def dependency_groups(pyproject: Path = PYPROJECT) -> dict[str, list[Any]]:
    """The `[dependency-groups]` table of pyproject.toml."""
    return tomllib.loads(pyproject.read_text())["dependency-groups"]


def group_requirements(groups: Mapping[str, list[Any]], name: str) -> list[Requirement]:
    """The requirements of a dependency group, with those of the groups it includes."""
    requirements: list[Requirement] = []
    for item in groups[name]:
        if isinstance(item, dict):
            requirements += group_requirements(groups, item["include-group"])
        else:
            requirements.append(Requirement(item))
    return requirements


def pin_problem(requirements: list[Requirement], framework: str, version: str) -> str | None:
    """What keeps the requirements from installing exactly `framework==version`, or None."""
    found = [r for r in requirements if canonicalize_name(r.name) == canonicalize_name(framework)]
    pinned = any(str(r.specifier) == f"=={version}" for r in found)
    if pinned and all(r.specifier.contains(version) for r in found):
        return None
    written = ", ".join(f'"{r}"' for r in found) or "nothing"
    return f"requires {written}, not {framework}=={version}"


def pin_problems(rocks: KServeRocks, groups: Mapping[str, list[Any]]) -> list[str]:
    """Every test group that does not pin a rock's framework at the rock's version."""
    problems: list[str] = []
    for rock in rocks.rocks.values():
        for group in rock.test_groups:
            if group not in groups:
                problems.append(f"{rock.name}: pyproject.toml has no dependency group {group!r}")
                continue
            requirements = group_requirements(groups, group)
            problems += [
                f"{rock.name}: dependency group {group!r} {problem} (the rock's version)"
                for framework, version in rock.frameworks.items()
                if (problem := pin_problem(requirements, framework, version))
            ]
    return problems


def lock_versions(lock: Path) -> dict[str, set[str]]:
    """Every package's versions in a uv.lock, by canonical name."""
    versions: dict[str, set[str]] = {}
    for package in tomllib.loads(lock.read_text())["package"]:
        if "version" in package:
            versions.setdefault(canonicalize_name(package["name"]), set()).add(package["version"])
    return versions


def main() -> int:
    """Print every pin that differs from the rocks' versions; fail if there is one."""
    rocks = load_kserve_rocks()
    problems = pin_problems(rocks, dependency_groups())
    for problem in problems:
        print(f"{problem}: fix pyproject.toml (rocks/rocks.yaml has the versions), then uv lock")
    untested = [rock.name for rock in rocks.rocks.values() if not rock.test_groups]
    if untested:
        print(f"not tested on their frameworks' versions (no test-groups): {', '.join(untested)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
