"""The rocks' framework versions: those of upstream's locks, and the ones the tests install.

rocks/rocks.yaml records each rock's frameworks at the versions upstream's
`python/<module>/uv.lock` pins at the tag; with `KSERVE_PYTHON_DIR` set they are
compared with those locks. `scripts/check_framework_pins.py` (in `tox -e lint`)
holds the test environments' dependency groups to the same versions; here it is
run on the real pyproject.toml and shown to catch each kind of drift.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name

from scripts import check_framework_pins
from scripts.kserve_rocks import KServeRocks
from tests.rocks.rockcraft_projects import KSERVE_ROCKS, RockProject, spec_of
from tests.rocks.server_cli import KSERVE_PYTHON_DIR_ENV

GROUPS = check_framework_pins.dependency_groups()


def test_frameworks_are_the_upstream_lock_versions(rock: RockProject) -> None:
    kserve_python = os.environ.get(KSERVE_PYTHON_DIR_ENV)
    if not kserve_python:
        pytest.skip(
            f"{KSERVE_PYTHON_DIR_ENV} is not set (point it at a kserve checkout's python/)"
        )
    spec = spec_of(rock)
    locked = check_framework_pins.lock_versions(Path(kserve_python) / spec.module / "uv.lock")
    recorded = {canonicalize_name(name): {version} for name, version in spec.frameworks.items()}
    assert recorded == {name: locked.get(name) for name in recorded}
    assert spec.frameworks, f"{rock.name} records no framework"


def test_test_groups_pin_the_rock_versions() -> None:
    assert check_framework_pins.pin_problems(KSERVE_ROCKS, GROUPS) == []
    tested = {rock.name for rock in KSERVE_ROCKS.rocks.values() if rock.test_groups}
    assert {"sklearnserver", "xgbserver", "lgbserver", "pmmlserver"} <= tested
    assert {"paddleserver", "predictiveserver", "autogluonserver"} <= tested


def _one_rock(frameworks: dict[str, str], groups: tuple[str, ...]) -> KServeRocks:
    base = KSERVE_ROCKS.rocks["xgbserver"]
    rock = dataclasses.replace(base, frameworks=frameworks, test_groups=groups)
    return dataclasses.replace(KSERVE_ROCKS, rocks={rock.name: rock})


@pytest.mark.parametrize(
    ("groups", "problem"),
    [
        ({"g": ["xgboost==2.1.4"]}, None),
        ({"g": ["XGBoost == 2.1.4", "xgboost>=2"]}, None),
        ({"g": [{"include-group": "pins"}], "pins": ["xgboost==2.1.4"]}, None),
        ({"g": ["xgboost==3.1.3"]}, 'requires "xgboost==3.1.3", not xgboost==2.1.4'),
        ({"g": ["xgboost>=2.1.4"]}, 'requires "xgboost>=2.1.4", not xgboost==2.1.4'),
        ({"g": ["xgboost==2.1.4", "xgboost<2"]}, "not xgboost==2.1.4"),
        ({"g": ["scikit-learn==1.5.2"]}, "requires nothing, not xgboost==2.1.4"),
        ({"other": ["xgboost==2.1.4"]}, "pyproject.toml has no dependency group 'g'"),
    ],
)
def test_pin_check_catches_drift(groups: dict[str, list[Any]], problem: str | None) -> None:
    problems = check_framework_pins.pin_problems(_one_rock({"xgboost": "2.1.4"}, ("g",)), groups)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert problem in problems[0]
        assert problems[0].startswith("xgbserver: ")


def test_lock_versions_reads_every_version(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(
        'version = 1\n[[package]]\nname = "Scikit_Learn"\nversion = "1.5.2"\n'
        '[[package]]\nname = "scikit-learn"\nversion = "1.7.2"\n'
        '[[package]]\nname = "kserve"\nsource = { directory = "../kserve" }\n'
    )
    assert check_framework_pins.lock_versions(lock) == {"scikit-learn": {"1.5.2", "1.7.2"}}
