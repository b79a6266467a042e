"""Each charm's virtualenv, built the way charmcraft's uv plugin builds it.

The plugin runs `uv sync` (frozen, no dev groups, no editable installs) in the
charm's directory of the workspace. The resulting venv must import the charm,
carry the shared package's data files (runtimes, rules, dashboards,
templates), and hold nothing of the test and tool dependencies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.charms import ThinCharm

UV = shutil.which("uv")
# Only test and tooling packages: none of them may reach a charm.
NOT_IN_A_CHARM = ("pytest", "kserve", "sklearn", "charmcraft", "craft_parts", "ruff")
DATA_FILES = (
    "runtimes.yaml",
    "templates/inferenceservice.yaml.j2",
    "observability/alert_rules/server.rules",
    "observability/grafana_dashboards/kserve.json",
)


@pytest.fixture
def charm_venv(charm: ThinCharm, tmp_path: Path) -> Path:
    if UV is None:
        pytest.skip("uv is not on PATH (pip install uv) to build the charm's venv")
    venv = tmp_path / "venv"
    environment = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_NO_EDITABLE": "1"}
    subprocess.run(
        [UV, "sync", "--frozen", "--no-dev", "--quiet"],
        cwd=charm.path,
        env=environment,
        check=True,
        timeout=300,
    )
    return venv


def _site_packages(venv: Path) -> Path:
    (site,) = venv.glob("lib/python3*/site-packages")
    return site


def test_the_charm_venv_holds_the_charm_and_its_data(charm: ThinCharm, charm_venv: Path):
    site = _site_packages(charm_venv)
    package = site / "model_server_charm"
    assert package.is_dir(), "the shared package must be installed, not linked"
    for data in DATA_FILES:
        assert (package / data).is_file(), data
    leaked = [name for name in NOT_IN_A_CHARM if (site / name).exists()]
    assert leaked == []
    # Nothing of this repository on the path but the charm's own src/, as in a charm.
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    imported = subprocess.run(
        [
            str(charm_venv / "bin" / "python"),
            "-c",
            "import charm, model_server_charm; print(model_server_charm.__file__)",
        ],
        cwd=charm.path / "src",
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    assert Path(imported.stdout.strip()).is_relative_to(site)
